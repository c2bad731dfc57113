// The event loop: epoll over fds, with signals delivered as events (signalfd).
#pragma once
#include <cstdint>
#include <system_error>
#include <vector>

#include "platform/fd.h"

namespace poolrun::platform {

/// One ready fd: the token given to add(), and what it is ready for.
struct Ready {
  std::uint64_t token = 0;
  bool readable = false;  ///< data, EOF or error (read to find out)
  bool writable = false;
};

/// epoll-based readiness loop. Not thread-safe; one per engine.
class EventLoop {
 public:
  EventLoop();  ///< throws std::system_error if epoll cannot be created
  /// Watches `fd` for readability (and writability if `write`). Returns EPERM for fds epoll
  /// cannot watch (regular files: those are always ready).
  std::error_code add(int fd, std::uint64_t token, bool read = true, bool write = false);
  std::error_code modify(int fd, std::uint64_t token, bool read, bool write);
  void remove(int fd);
  /// Waits up to `timeout_ms` (-1: no limit) and fills `out`. Returns the count (0 on timeout or
  /// EINTR).
  int wait(std::vector<Ready>& out, int timeout_ms);

 private:
  UniqueFd ep_;
};

/// Waits until `fd` can take at least PIPE_BUF bytes without blocking (POLLOUT), or `signal_fd`
/// is readable. Returns 1 when `fd` is writable (or in error: the write will tell), 2 when a
/// signal is pending.
int wait_writable_or_signal(int fd, int signal_fd);

/// The signals poolrun handles as events: SIGCHLD, SIGINT, SIGTERM, SIGHUP. Construct once, early,
/// before any thread starts: it blocks them in the calling thread (threads made later inherit the
/// mask) and opens a signalfd. SIGPIPE is set to be ignored (write errors report EPIPE instead).
/// Children get an empty mask and default dispositions from the launchers.
class SignalEvents {
 public:
  SignalEvents();  ///< throws std::system_error on failure
  ~SignalEvents(); ///< restores the previous mask
  int fd() const { return fd_.get(); }
  /// Drains pending signals; appends each signal number received.
  void drain(std::vector<int>& out);

 private:
  UniqueFd fd_;
  unsigned long long old_mask_[16] = {};  // a sigset_t's worth of storage
};

}  // namespace poolrun::platform
