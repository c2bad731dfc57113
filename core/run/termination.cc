#include "core/run/termination.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>

#include "platform/system.h"

namespace poolrun::core {

// Why a group id is safe to signal, and when it stops being safe.
//
// kill(-pgid, sig) reaches whatever process group has that id now. The id is the leader's pid,
// and Linux frees a pid number only when no process uses it any more, as pid, process group or
// session id. So:
//  - while the leader is unreaped (alive or a zombie) the id is the job's: start() relies on the
//    caller for that (it starts sequences only for jobs it has not reaped);
//  - after the reaping, the id stays the job's as long as one process remains in the group, which
//    kill(-pgid, 0) tells. Once the group is empty, the number is free and a new process may get
//    it and lead a group of its own: a group seen empty is never signalled again (state Gone).
// What no look can tell is whether the group emptied and the id was taken again *between* two
// looks: a later look would find the stranger's group alive. Pids are handed out cyclically, so a
// freed number comes back only after the allocator went once round pid_max (32768 at least)
// other pids; a reaped group is therefore looked at every kPollS (25 ms), far less than any
// machine needs for that many forks, and a look older than kTrustS (the loop was held up) no
// longer vouches for it: such a group is let go unsignalled rather than risk a stranger. Groups
// whose leader is unreaped need no looks: their id cannot move.

Terminations::Entry* Terminations::find(int pgid) {
  for (auto& e : entries_)
    if (e.pgid == pgid) return &e;
  return nullptr;
}

void Terminations::start(int pgid, bool kill_now) {
  Entry* e = find(pgid);
  if (e && e->state != State::Following) {
    // Being ended already, or seen gone (its id may be someone else's now).
    if (kill_now && e->state == State::Ending) platform::kill_process_group(pgid, SIGKILL);
    return;
  }
  if (kill_now) {
    platform::kill_process_group(pgid, SIGKILL);
    return;
  }
  if (seq_.empty()) return;
  const double now = platform::monotonic_now();
  if (e) {
    // Followed since its leader was reaped: its last look (at most kPollS ago) found it alive.
    if (now - e->seen > kTrustS || !platform::process_group_alive(pgid)) {
      e->state = State::Gone;
      return;
    }
    e->seen = now;
    e->check = now + kPollS;
  } else {
    entries_.push_back({pgid, State::Ending, false, true, 0, 0, 0, 0});
    e = &entries_.back();
  }
  e->state = State::Ending;
  e->step = 0;
  e->next = now + seq_[0].wait_ms / 1000.0;
  platform::kill_process_group(pgid, seq_[0].signal);
}

void Terminations::reaped(int pgid) {
  const double now = platform::monotonic_now();
  Entry* e = find(pgid);
  if (!e) {
    entries_.push_back({pgid, State::Following, true, true, 0, 0, now + kPollS, now});
    return;
  }
  e->reaped = true;
  e->kept = true;
  e->seen = now;
  e->check = now + kPollS;
}

void Terminations::forget(int pgid) {
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].pgid != pgid) continue;
    if (entries_[i].state == State::Ending) entries_[i].kept = false;  // runs to its end
    else entries_.erase(entries_.begin() + static_cast<long>(i));
    return;
  }
}

bool Terminations::contains(int pgid) const {
  return std::any_of(entries_.begin(), entries_.end(),
                     [&](const Entry& e) { return e.pgid == pgid && e.state == State::Ending; });
}

bool Terminations::ending() const {
  return std::any_of(entries_.begin(), entries_.end(), [](const Entry& e) { return e.state == State::Ending; });
}

bool Terminations::end_sequence(std::size_t i, const std::function<void(int)>& ended) {
  Entry& e = entries_[i];
  const int pgid = e.pgid;
  bool erase = !(e.reaped && e.kept);
  if (erase) entries_.erase(entries_.begin() + static_cast<long>(i));
  else e.state = State::Gone;  // the caller may still start() it: it must not be signalled
  ended(pgid);
  return erase;
}

void Terminations::advance(double now, const std::function<void(int)>& ended) {
  for (std::size_t i = 0; i < entries_.size();) {
    Entry& e = entries_[i];
    const bool step_due = e.state == State::Ending && now >= e.next;
    const bool look_due = e.reaped && e.state != State::Gone && now >= e.check;
    if (!step_due && !look_due) {
      ++i;
      continue;
    }
    if (e.reaped) {
      const bool trusted = now - e.seen <= kTrustS;
      if (!trusted)
        spdlog::warn("process group {} was not looked at for {:.1f} s: leaving it alone", e.pgid, now - e.seen);
      if (!trusted || !platform::process_group_alive(e.pgid)) {
        if (e.state == State::Ending) {
          if (end_sequence(i, ended)) continue;
        } else {
          e.state = State::Gone;
        }
        ++i;
        continue;
      }
      e.seen = now;
      e.check = now + kPollS;
    }
    if (!step_due) {
      ++i;
      continue;
    }
    ++e.step;
    const bool alive = platform::process_group_alive(e.pgid);
    if (e.step >= seq_.size() || !alive) {
      // The sequence is over and the group still lives (a --termseq without KILL): never hang.
      if (alive) platform::kill_process_group(e.pgid, SIGKILL);
      if (!end_sequence(i, ended)) ++i;
      continue;
    }
    platform::kill_process_group(e.pgid, seq_[e.step].signal);
    e.next = now + seq_[e.step].wait_ms / 1000.0;
    ++i;
  }
}

double Terminations::next_due() const {
  double next = 0;
  auto consider = [&](double t) {
    if (next == 0 || t < next) next = t;
  };
  for (const auto& e : entries_) {
    if (e.state == State::Ending) consider(e.next);
    if (e.reaped && e.state != State::Gone) consider(e.check);
  }
  return next;
}

void Terminations::kill_all(const std::function<void(int)>& ended) {
  const double now = platform::monotonic_now();
  for (std::size_t i = 0; i < entries_.size();) {
    Entry& e = entries_[i];
    if (e.state != State::Ending) {
      ++i;
      continue;
    }
    // A reaped group is signalled only while it is vouched for (see the top of this file).
    if ((!e.reaped || now - e.seen <= kTrustS) && platform::process_group_alive(e.pgid))
      platform::kill_process_group(e.pgid, SIGKILL);
    if (!end_sequence(i, ended)) ++i;
  }
}

}  // namespace poolrun::core
