#include "core/run/supervisor.h"

#include <cerrno>
#include <csignal>

#include <spdlog/spdlog.h>

#include "core/errors.h"
#include "platform/fd.h"
#include "platform/system.h"

namespace poolrun::core {
namespace {
constexpr std::uint64_t kTokenSignals = 1;
constexpr std::uint64_t kTokenLauncher = 2;
}  // namespace

const char* stop_reason_name(StopReason why) {
  switch (why) {
    case StopReason::None: return "";
    case StopReason::Hangup: return "SIGHUP";
    case StopReason::Halt: return "halt";
    case StopReason::Signal: return "signal";
    case StopReason::Pipe: return "stdout closed";
    case StopReason::InputError: return "input error";
    case StopReason::OutputError: return "output error";
    case StopReason::SpillError: return "spill error";
    case StopReason::ReportError: return "report error";
    case StopReason::LaunchError: return "launch error";
    case StopReason::Setup: return "worker start-up failed";
    case StopReason::Error: return "error";
  }
  return "";
}

int run_exit_status(StopReason why, int halt_status, std::size_t failures) {
  if (why == StopReason::Signal || is_failure(why)) return 255;
  if (why == StopReason::Pipe) return 128 + SIGPIPE;
  if (halt_status >= 0) return halt_status;
  return failures > 100 ? 101 : static_cast<int>(failures);
}

int timeout_ms_until(double next_deadline, double now) {
  if (next_deadline == 0) return -1;
  double ms = (next_deadline - now) * 1000.0;
  return ms <= 0 ? 0 : static_cast<int>(ms) + 1;
}

void Supervisor::start(bool guard) {
  if (guard) {
    // Before the first launch: a guardian forked later would leave the children started before it
    // unguarded, and poolrun killed in that window would orphan them. A launcher whose exits come
    // from a server (forkserver) has the server's children as poolrun's jobs.
    if (auto ec = guardian_.start(launcher_.event_fd() < 0))
      spdlog::info("no guardian process ({}): jobs may outlive poolrun if it is killed", ec.message());
  }
  signals_.emplace();
  loop_.add(signals_->fd(), kTokenSignals);
  if (launcher_.event_fd() >= 0) loop_.add(launcher_.event_fd(), kTokenLauncher);
}

LaunchResult Supervisor::launch(const LaunchRequest& req) {
  guardian_.launching();  // should poolrun die before the launch returns
  LaunchResult res = launcher_.launch(req);
  if (res.ok()) {
    live_.insert(res.child.pid);
    guardian_.watch(res.child.pid);
  }
  guardian_.launched();
  return res;
}

LaunchResult Supervisor::launch_builtin(platform::BuiltinId id, int in_fd, int out_fd) {
  guardian_.launching();
  LaunchResult res = launcher_.launch_builtin(id, in_fd, out_fd);
  if (res.ok()) {
    live_.insert(res.child.pid);
    guardian_.watch(res.child.pid);
  }
  guardian_.launched();
  return res;
}

void Supervisor::terminate(int pgid, bool kill_now) {
  if (pgid > 0) terminations_.start(pgid, kill_now);
}

void Supervisor::follow(int pgid) { terminations_.reaped(pgid); }

void Supervisor::release(int pgid) {
  terminations_.forget(pgid);
  if (!terminations_.contains(pgid)) guardian_.unwatch(pgid);
}

void Supervisor::group_ended(int pgid) {
  if (!live_.count(pgid)) guardian_.unwatch(pgid);
}

std::error_code Supervisor::write(int fd, std::string_view data) {
  if (abandoned()) return {};
  if (!signals_ || platform::is_regular_file(fd)) return platform::write_all(fd, data);
  // A pipe whose reader does not read would block poolrun in write() with its signals blocked,
  // deaf to SIGINT and SIGTERM. So wait for room together with the signals, and write at most
  // PIPE_BUF bytes once there is room (never blocks). A second SIGINT/SIGTERM abandons output.
  constexpr std::size_t kAtomic = 4096;
  ++writing_;
  struct Depth {
    int& d;
    ~Depth() { --d; }
  } depth{writing_};
  while (!data.empty()) {
    if (platform::wait_writable_or_signal(fd, signals_->fd()) == 2) {
      on_signals();
      if (interrupts_ >= 2) {
        abandoned_ = true;
        return {};
      }
      continue;
    }
    long n = platform::write_some(fd, data.data(), std::min(data.size(), kAtomic));
    if (n == -EAGAIN || n == -EINTR) continue;
    if (n < 0) return {static_cast<int>(-n), std::system_category()};
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

void Supervisor::on_signals() {
  sigs_.clear();
  signals_->drain(sigs_);
  bool child = pending_child_;
  for (int s : sigs_) {
    if (s == SIGCHLD) {
      child = true;
    } else if (s == SIGHUP) {
      if (policy_) policy_->on_hangup();
    } else if (s == SIGINT || s == SIGTERM) {
      ++interrupts_;
      if (interrupts_ == 1) {
        if (policy_) policy_->on_interrupt(s);
      } else {
        // A second signal: no more patience. Every group still running, and every group still
        // being ended, gets SIGKILL now.
        for (int pgid : live_) terminations_.start(pgid, true);
        terminations_.kill_all([&](int pgid) { group_ended(pgid); });
      }
    }
  }
  if (child) {
    // Reaping finishes work, which writes output: not from inside an output write.
    pending_child_ = writing_ > 0;
    if (!pending_child_) on_exits();
  }
}

void Supervisor::on_exits() {
  exits_.clear();
  launcher_.collect(exits_);
  for (const auto& e : exits_) {
    // Not a child of ours (a reparented descendant, or one reported twice): nothing to tell.
    if (live_.erase(e.pid) == 0) continue;
    // A group being ended is ended until it is empty, not until its leader dies; from now on only
    // looks at the group vouch for its id (core/run/termination.cc).
    if (terminations_.contains(e.pid)) terminations_.reaped(e.pid);
    if (policy_) policy_->on_exit(e);
  }
  if (!launcher_.usable() && !launcher_gone_ && policy_) {
    launcher_gone_ = true;
    policy_->on_launcher_gone("its server process is gone");
  }
}

void Supervisor::run(Policy& policy) {
  policy_ = &policy;
  std::vector<platform::Ready> ready;
  for (;;) {
    // Nothing may leave this loop by an exception while a child is unreaped: whatever throws in
    // one turn becomes the run's stop reason, and the loop goes on ending and reaping.
    try {
      policy.step();
      // A group still being ended keeps the run (as long as its --termseq says, at most).
      if (policy.finished() && !terminations_.ending()) break;
      ready.clear();
      double now = platform::monotonic_now();
      loop_.wait(ready, timeout_ms_until(earliest(policy.next_deadline(now), terminations_.next_due()), now));
      for (const auto& r : ready) {
        if (r.token == kTokenSignals) on_signals();
        else if (r.token == kTokenLauncher) on_exits();
        else if (r.token >= kFirstPolicyToken) policy.on_ready(r);
      }
      if (pending_child_) {
        pending_child_ = false;
        on_exits();
      }
      double after = platform::monotonic_now();
      policy.on_timers(after);
      terminations_.advance(after, [&](int pgid) { group_ended(pgid); });
    } catch (const InputError& e) {
      policy.on_failure(StopReason::InputError, e.what());
    } catch (const std::exception& e) {
      policy.on_failure(StopReason::Error, e.what());
    }
  }
  // Anything still being ended (leftover descendants): no orphans outlive the run.
  terminations_.kill_all([&](int pgid) { group_ended(pgid); });
  policy_ = nullptr;
}

}  // namespace poolrun::core
