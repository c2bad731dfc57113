// Small POSIX services: clocks, CPUs, PATH lookup, process groups, private temp files.
#pragma once
#include <cstddef>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "platform/fd.h"

namespace poolrun::platform {

/// Seconds on CLOCK_MONOTONIC (for durations and timers).
double monotonic_now();

/// Seconds since the Unix epoch (CLOCK_REALTIME, microsecond precision) for reports.
double wall_now();

/// CPUs this process may run on (sched_getaffinity; falls back to online CPUs). At least 1.
std::size_t available_cpus();

/// Finds `name` as execvp would: a name containing '/' is taken as it is; otherwise each
/// directory of $PATH (default "/usr/local/bin:/usr/bin:/bin") is tried. Returns the path of a
/// regular executable file, or "" when none is found.
std::string resolve_executable(const std::string& name);

/// Sends `sig` to every process in process group `pgid` (kill(-pgid, sig)). Returns ESRCH when the
/// group is empty, another errno on failure.
std::error_code kill_process_group(int pgid, int sig);

/// True if any process remains in process group `pgid`.
bool process_group_alive(int pgid);

/// The limit on a new process's argv + envp in bytes (sysconf(_SC_ARG_MAX)), and on one string.
std::size_t arg_max();
std::size_t arg_strlen_max();

/// Bytes the current environment takes in execve's accounting (strings + NULs + pointers).
std::size_t environment_size();

/// Creates `path` and its missing parents (mode 0755 before umask). Returns an errno error code.
std::error_code make_dirs(const std::string& path);

/// True if file descriptor `fd` is open in this process (fcntl F_GETFD does not fail with EBADF).
/// Opens nothing: call it before anything else opens fds, or a closed fd 1 may already have been
/// reused by poolrun's own first open.
bool fd_is_open(int fd);

/// Opens /dev/null on any of fds 0, 1, 2 that is closed, so no pipe or file poolrun opens later
/// lands there (a job would otherwise get it as its stdin, stdout or stderr). Call first in main().
void ensure_stdio_open();

/// The fds this process has open, ascending, from /proc/self/fd (the fd used to list it left out),
/// each with what it refers to (the link's target: "pipe:[123]", "/dev/null", "anon_inode:..."):
/// for poolrun's own check that a run leaves no fd open (POOLRUN_DEBUG_FD_CHECK, app/main.cc).
/// Returns an errno error code when /proc/self/fd cannot be read.
std::error_code list_open_fds(std::vector<std::pair<int, std::string>>& out);

/// Sleeps for `ms` milliseconds (used only for short back-offs).
void sleep_ms(int ms);

/// The current process's pid.
int self_pid();

/// A private directory (mode 0700) under $TMPDIR (or /tmp), made on first use and removed (with
/// anything left inside) by remove(). Files made in it are 0600 and unlinked at once, so they
/// vanish when their fd closes, even if poolrun is killed.
class PrivateTempDir {
 public:
  PrivateTempDir() = default;
  PrivateTempDir(const PrivateTempDir&) = delete;
  PrivateTempDir& operator=(const PrivateTempDir&) = delete;
  ~PrivateTempDir() { remove(); }

  /// An anonymous read-write temp file inside the directory, close-on-exec. Sets `ec` on failure.
  UniqueFd make_file(std::error_code& ec);

  /// The directory path ("" until the first make_file or path_or_create call).
  const std::string& path() const { return path_; }
  const std::string& path_or_create(std::error_code& ec);

  /// Removes the directory and its contents. Safe to call twice.
  void remove();

 private:
  std::string path_;
};

}  // namespace poolrun::platform
