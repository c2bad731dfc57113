// The guardian: a small process that ends poolrun's running jobs if poolrun itself dies.
#pragma once
#include <system_error>

#include "platform/fd.h"

namespace poolrun::platform {

/// poolrun's jobs run in process groups of their own, so a SIGKILL of poolrun does not reach them,
/// and posix_spawn cannot set PR_SET_PDEATHSIG. The guardian is a forked copy of poolrun in a
/// process group of its own with fds 0, 1, 2 on /dev/null. poolrun tells it over a pipe which
/// process groups are running. When the pipe reaches EOF without a clean goodbye (poolrun was
/// killed), it sends SIGTERM to every group it knows, waits up to 500 ms, then SIGKILL, and exits.
/// Its cost per job is two 4-byte writes; it reads them in batches (at most every 100 ms), so a job
/// costs poolrun no context switch.
///
/// Gap: a job learns its pid only when its launch returns, so a SIGKILL of poolrun while a job is
/// being started (spawn, fork: during its exec) can leave that one job unknown to the guardian.
///
/// Use: start() before the first job (poolrun must not have threads then), watch()/unwatch() as
/// jobs start and end. Messages written between prepare() and start() wait in the pipe.
class Guardian {
 public:
  Guardian() = default;
  Guardian(const Guardian&) = delete;
  Guardian& operator=(const Guardian&) = delete;
  ~Guardian();  ///< says goodbye (the guardian exits without killing anything)

  /// Creates the pipe. Returns an errno error code on failure (poolrun then runs without one).
  std::error_code prepare();

  /// Forks the guardian (once; later calls do nothing). Returns an errno error code on failure
  /// (poolrun then runs without one). Calls prepare() itself if needed.
  std::error_code start();

  /// Tells the guardian that process group `pgid` runs / has ended. No-ops without a pipe.
  void watch(int pgid);
  void unwatch(int pgid);

  /// True once start() forked the guardian.
  bool started() const { return pid_ > 0; }

  /// The guardian's pid (for tests), or -1.
  int pid() const { return pid_; }

 private:
  void send(int value);
  UniqueFd pipe_;   ///< write end
  UniqueFd rpipe_;  ///< read end, until the guardian has it
  int pid_ = -1;
};

}  // namespace poolrun::platform
