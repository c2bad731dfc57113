#include "core/pipe/chunker.h"

#include <algorithm>
#include <cstdlib>
#include <regex>

#include "core/errors.h"

namespace poolrun::core {

HeaderSpec HeaderSpec::parse(const std::string& spec) {
  HeaderSpec h;
  if (spec == ":") {
    h.lines = 1;
    return h;
  }
  if (!spec.empty() && std::all_of(spec.begin(), spec.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    h.lines = static_cast<std::size_t>(std::strtoull(spec.c_str(), nullptr, 10));
    return h;
  }
  try {
    std::regex re(spec);
  } catch (const std::regex_error& e) {
    throw UsageError("--header: bad regular expression '" + spec + "': " + e.what());
  }
  h.regex = spec;
  return h;
}

std::optional<std::size_t> header_length(const HeaderSpec& spec, std::string_view data, bool eof) {
  if (spec.lines > 0) {
    std::size_t pos = 0;
    for (std::size_t n = 0; n < spec.lines; ++n) {
      std::size_t nl = data.find('\n', pos);
      if (nl == std::string_view::npos) {
        if (eof) return data.size();  // fewer lines than asked: all of it is header
        return std::nullopt;
      }
      pos = nl + 1;
    }
    return pos;
  }
  if (spec.regex.empty()) return 0;
  constexpr std::size_t kWindow = 64 * 1024;
  if (!eof && data.size() < kWindow) return std::nullopt;
  std::string_view w = data.substr(0, std::min(data.size(), kWindow));
  std::regex re(spec.regex);
  std::match_results<std::string_view::const_iterator> m;
  if (!std::regex_search(w.begin(), w.end(), m, re, std::regex_constants::match_continuous)) return 0;
  return static_cast<std::size_t>(m.length(0));
}

RecordCutter::RecordCutter(ChunkOptions opt) : opt_(std::move(opt)) {
  pattern_ = opt_.recend + opt_.recstart;
  unit_ = std::max<std::size_t>(1, opt_.lines_per_record);
  if (opt_.block == 0) opt_.block = 1;
}

std::size_t RecordCutter::next_split(std::string_view data, std::size_t from) const {
  const std::size_t e = opt_.recend.size();
  if (pattern_.empty()) return from + 1 <= data.size() ? from + 1 : npos;  // every byte a record
  // A match at `pos` splits at pos + e; we need pos + e > from.
  std::size_t start = from + 1 > e ? from + 1 - e : 0;
  for (;;) {
    std::size_t pos = data.find(pattern_, start);
    if (pos == std::string_view::npos) return npos;
    if (pos + e > 0) return pos + e;  // a split at 0 (recstart only, at the very start) is none
    start = pos + 1;
  }
}

std::size_t RecordCutter::part_split(std::string_view data, std::size_t target) const {
  if (target > data.size()) return npos;
  if (pattern_.empty()) return target;  // every byte a record
  std::size_t m = data.find(pattern_, target);
  return m == std::string_view::npos ? npos : m + opt_.recend.size();
}

std::size_t RecordCutter::cut(std::string_view data, bool eof) const {
  if (data.empty()) return 0;
  std::size_t n = opt_.records > 0 ? cut_by_records(data, eof) : cut_by_block(data, eof);
  return n;
}

std::size_t RecordCutter::cut_by_records(std::string_view data, bool eof) const {
  // Exactly N records of `unit_` splits each.
  std::size_t want = opt_.records * unit_;
  std::size_t p = 0;
  for (std::size_t i = 0; i < want; ++i) {
    std::size_t q = next_split(data, p);
    if (q == npos || (q == data.size() && !eof && !opt_.recstart.empty())) return eof ? data.size() : 0;
    p = q;
  }
  return p;
}

std::size_t RecordCutter::cut_by_block(std::string_view data, bool eof) const {
  const std::size_t block = static_cast<std::size_t>(std::min<std::uint64_t>(opt_.block, npos - 1));
  if (data.size() <= block) {
    // Everything fits in one block: the last chunk at eof; otherwise wait for a full block.
    return eof ? data.size() : 0;
  }
  const std::size_t e = opt_.recend.size();
  if (unit_ == 1) {
    if (pattern_.empty()) return block;
    // The last split at or before the block's end...
    if (block >= e) {
      std::size_t pos = data.substr(0, block - e + pattern_.size()).rfind(pattern_);
      if (pos != std::string_view::npos && pos + e > 0) return pos + e;
    }
    // ...or, when one record is longer than a block, the first split after it.
    std::size_t q = next_split(data, block);
    if (q != npos) return q;
    return eof ? data.size() : 0;
  }
  // -L: count units from the start; cut after a whole number of records.
  std::size_t p = 0, last_fit = 0, units = 0;
  for (;;) {
    std::size_t q = next_split(data, p);
    if (q == npos) return eof ? (last_fit > 0 ? last_fit : data.size()) : (last_fit > 0 ? last_fit : 0);
    p = q;
    ++units;
    if (units % unit_ != 0) continue;
    if (p <= block) {
      last_fit = p;
      continue;
    }
    return last_fit > 0 ? last_fit : p;
  }
}

std::size_t RecordCutter::count_records(std::string_view chunk) const {
  if (chunk.empty()) return 0;
  std::size_t units;
  if (pattern_.empty()) {
    units = chunk.size();
  } else if (pattern_.size() == 1 && opt_.recstart.empty()) {
    units = static_cast<std::size_t>(std::count(chunk.begin(), chunk.end(), pattern_[0]));
    if (chunk.back() != pattern_[0]) ++units;
  } else {
    units = 1;  // the chunk's end ends a record
    for (std::size_t p = next_split(chunk, 0); p != npos && p < chunk.size(); p = next_split(chunk, p)) ++units;
  }
  return (units + unit_ - 1) / unit_;
}

}  // namespace poolrun::core
