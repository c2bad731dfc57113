#include "core/run/held_output.h"

#include "platform/fd.h"

namespace poolrun::core {

HeldOutput::HeldOutput(HeldOutput&& o) noexcept
    : budget_(o.budget_), mem_(std::move(o.mem_)), segments_(std::move(o.segments_)),
      spilled_(o.spilled_), tail_(std::move(o.tail_)), last_(o.last_) {
  o.mem_.clear();
  o.tail_.clear();
  o.segments_.clear();
  o.spilled_ = 0;
}

std::error_code HeldOutput::append(std::string_view data) {
  if (data.empty()) return {};
  last_ = data.back();
  // Once anything is spilled, everything after it is spilled too, so order is memory, then the
  // segments in turn, then the tail (what could not be spilled).
  if (spilled_ == 0 && tail_.empty() && budget_->used + data.size() <= budget_->limit) {
    mem_.append(data);
    budget_->used += data.size();
    return {};
  }
  std::uint64_t at = 0;
  if (tail_.empty()) {
    std::error_code ec = budget_->spill->append(data, at);
    if (!ec) {
      if (!segments_.empty() && segments_.back().first + segments_.back().second == at)
        segments_.back().second += data.size();
      else
        segments_.emplace_back(at, data.size());
      spilled_ += data.size();
      return {};
    }
    // Held in memory rather than lost: the caller stops the run and prints what was collected.
    tail_.append(data);
    return ec;
  }
  tail_.append(data);
  return {};
}

std::error_code HeldOutput::append_tagged(std::string_view data, std::string_view prefix, bool& at_line_start) {
  std::string out;
  out.reserve(data.size() + prefix.size() * 2);
  for (char c : data) {
    if (at_line_start) out.append(prefix);
    out.push_back(c);
    at_line_start = (c == '\n');
  }
  return append(out);
}

std::error_code HeldOutput::write_to(const platform::SpillFile::Sink& sink) {
  std::error_code ec;
  if (!mem_.empty()) ec = sink(mem_);
  for (const auto& [off, len] : segments_) {
    if (ec) break;
    ec = budget_->spill->copy_to(off, len, sink);
  }
  if (!ec && !tail_.empty()) ec = sink(tail_);
  clear();
  return ec;
}

void HeldOutput::clear() {
  budget_->used -= std::min(budget_->used, mem_.size());
  std::string().swap(mem_);
  if (spilled_) budget_->spill->release(spilled_);
  segments_.clear();
  spilled_ = 0;
  std::string().swap(tail_);
  last_ = '\n';
}

}  // namespace poolrun::core
