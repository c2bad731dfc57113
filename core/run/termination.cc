#include "core/run/termination.h"

#include <algorithm>
#include <csignal>

#include "platform/system.h"

namespace poolrun::core {

void Terminations::start(int pgid, bool kill_now) {
  if (kill_now) {
    platform::kill_process_group(pgid, SIGKILL);
    return;
  }
  if (contains(pgid) || seq_.empty()) return;
  platform::kill_process_group(pgid, seq_[0].signal);
  entries_.push_back({pgid, 0, platform::monotonic_now() + seq_[0].wait_ms / 1000.0});
}

bool Terminations::contains(int pgid) const {
  return std::any_of(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.pgid == pgid; });
}

void Terminations::advance(double now, const std::function<void(int)>& ended) {
  for (std::size_t i = 0; i < entries_.size();) {
    Entry& e = entries_[i];
    if (now < e.next) {
      ++i;
      continue;
    }
    ++e.step;
    // The sequence is over and the group still lives (a --termseq without KILL): never hang.
    if (e.step >= seq_.size() && platform::process_group_alive(e.pgid))
      platform::kill_process_group(e.pgid, SIGKILL);
    if (e.step >= seq_.size() || !platform::process_group_alive(e.pgid)) {
      const int pgid = e.pgid;
      entries_.erase(entries_.begin() + static_cast<long>(i));
      ended(pgid);
      continue;
    }
    platform::kill_process_group(e.pgid, seq_[e.step].signal);
    e.next = now + seq_[e.step].wait_ms / 1000.0;
    ++i;
  }
}

double Terminations::next_due() const {
  double next = 0;
  for (const auto& e : entries_)
    if (next == 0 || e.next < next) next = e.next;
  return next;
}

void Terminations::kill_all() const {
  for (const auto& e : entries_)
    if (platform::process_group_alive(e.pgid)) platform::kill_process_group(e.pgid, SIGKILL);
}

}  // namespace poolrun::core
