#include "core/map/map_chunks.h"

#include <cstring>

#include "core/errors.h"

namespace poolrun::core {

RecordCounter::RecordCounter(std::string delimiter) : delim_(std::move(delimiter)) {
  if (delim_.empty()) throw UsageError("the record delimiter must not be empty");
}

std::size_t RecordCounter::advance(std::string_view data, std::size_t& need) {
  if (need == 0 || data.empty()) return 0;
  const std::size_t L = delim_.size();
  std::size_t pos = 0;
  if (L == 1) {
    const char d = delim_[0];
    const char* base = data.data();
    while (need > 0 && pos < data.size()) {
      const void* q = std::memchr(base + pos, d, data.size() - pos);
      if (!q) {
        pos = data.size();
        mid_ = true;
        return pos;
      }
      pos = static_cast<std::size_t>(static_cast<const char*>(q) - base) + 1;
      --need;
      mid_ = false;
    }
    if (need > 0) mid_ = false;  // data ended exactly at a delimiter
    return pos;
  }
  bool matched = false;
  if (!tail_.empty()) {
    // A delimiter that started in an earlier piece.
    std::string probe = tail_;
    probe.append(data.substr(0, std::min(data.size(), L - 1)));
    std::size_t f = probe.find(delim_);
    if (f != std::string::npos && f < tail_.size()) {
      pos = f + L - tail_.size();
      tail_.clear();
      --need;
      matched = true;
      mid_ = false;
    }
  }
  while (need > 0) {
    std::size_t f = data.find(delim_, pos);
    if (f == std::string_view::npos) break;
    pos = f + L;
    --need;
    matched = true;
    mid_ = false;
  }
  if (need == 0) {
    tail_.clear();
    return pos;
  }
  // All of data is consumed; remember the last bytes of the unfinished record.
  std::string rest = matched ? std::string(data.substr(pos)) : tail_ + std::string(data);
  if (!rest.empty()) mid_ = true;
  tail_ = rest.size() > L - 1 ? rest.substr(rest.size() - (L - 1)) : rest;
  return data.size();
}

std::string unattributable(const WorkerEnd& end, const std::string& broken_why) {
  if (end.broke) return broken_why.empty() ? "wrote more output records than it was sent" : broken_why;
  if (end.short_records > 0 && !end.died)
    return "returned fewer output records than it was sent (" + std::to_string(end.short_records) +
           " short at its end)";
  return "";
}

std::size_t default_chunksize(std::optional<std::uint64_t> records, std::size_t workers) {
  if (!records) return 0;
  std::uint64_t div = 4 * static_cast<std::uint64_t>(workers ? workers : 1);
  std::uint64_t c = (*records + div - 1) / div;
  return c == 0 ? 1 : static_cast<std::size_t>(c);
}

}  // namespace poolrun::core
