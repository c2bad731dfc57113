// The launcher interface: how the engine starts a job's process and learns that it ended.
// Implementations live in platform/ (spawn, fork, forkserver start methods); the engine does not
// care which one launched a job. Tests may provide a fake.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace poolrun::core {

/// What to start. All fds are borrowed: the launcher dups them onto 0, 1, 2 in the child; -1 means
/// "inherit poolrun's own". Every other fd of poolrun is close-on-exec and does not reach the child.
struct LaunchRequest {
  std::string path;               ///< executable to exec: absolute, or relative containing '/'
  std::vector<std::string> argv;  ///< argv[0] included
  /// Environment as NAME=VALUE strings; nullptr inherits poolrun's environment.
  const std::vector<std::string>* env = nullptr;
  std::string cwd;  ///< working directory; empty inherits poolrun's
  int stdin_fd = -1;
  int stdout_fd = -1;
  int stderr_fd = -1;
};

/// Outcome of launch(): a pid (the child leads its own new process group, pgid == pid), or the
/// errno of the failed step (`stage` names it: "spawn", "exec", "chdir", "fork", ...).
struct LaunchResult {
  int pid = -1;
  int error = 0;
  std::string stage;
  bool ok() const { return pid > 0; }
};

/// How a process ended, with its resource usage (from wait4's rusage or the forkserver's report).
struct ExitStatus {
  int pid = -1;
  int exit_code = -1;  ///< 0..255 when it exited, -1 when a signal ended it
  int signal = 0;      ///< the terminating signal number, 0 when it exited
  bool core_dumped = false;
  double user_s = 0;      ///< user CPU seconds
  double sys_s = 0;       ///< system CPU seconds
  long max_rss_kib = 0;   ///< peak resident set, KiB
};

/// Starts jobs. Contract for every implementation:
///  - the child runs in a new process group of its own (pgid == pid);
///  - its signal mask is empty and every signal has its default disposition;
///  - it receives exactly fds 0, 1, 2;
///  - every child is eventually reported once through collect(), with its status and rusage.
/// Not thread-safe: called from the engine's thread only.
class Launcher {
 public:
  virtual ~Launcher() = default;

  /// The start method's name: "spawn", "fork" or "forkserver".
  virtual const char* name() const = 0;

  /// Starts one process. Never throws; failures are returned in LaunchResult.
  virtual LaunchResult launch(const LaunchRequest& req) = 0;

  /// An fd the event loop should watch for readability (exit reports from a server), or -1 when
  /// exits are learnt from SIGCHLD.
  virtual int event_fd() const { return -1; }

  /// Non-blocking: appends every child that has ended since the last call. The engine calls it on
  /// SIGCHLD and when event_fd() is readable.
  virtual void collect(std::vector<ExitStatus>& out) = 0;

  /// Blocking: waits until at least one child is reported (used only when shutting down).
  virtual void collect_blocking(std::vector<ExitStatus>& out) = 0;

  /// Starts a process that runs poolrun's built-in worker loop (platform/bench_worker.h, used by
  /// `poolrun bench`'s process executor) instead of a command: `task_fd` (borrowed, a pipe's read
  /// end) becomes the worker's fd 0, `result_fd` (borrowed, a pipe's write end) its fd 1; fd 2 is
  /// poolrun's. How the worker's image comes about is the start method's (Python's Pool workers):
  /// spawn execs poolrun itself in a hidden worker mode; fork runs the loop in a forked copy of the
  /// caller (so call it while the caller has no other thread); forkserver forks the worker from the
  /// server, a copy of poolrun made at start-up. The same contract as launch() otherwise (own
  /// process group, default signals, reported once through collect() with its rusage). Never
  /// throws; this default, for launchers without workers (test fakes), fails with ENOSYS.
  virtual LaunchResult launch_builtin_worker(int task_fd, int result_fd) {
    LaunchResult r;
    r.error = 38;  // ENOSYS; core includes no POSIX header
    r.stage = "worker";
    return r;
  }
};

/// The start methods (as Python's multiprocessing): how a child is started.
enum class StartMethod { Spawn, Fork, Forkserver };

/// Parses "spawn" | "fork" | "forkserver". Throws UsageError otherwise, naming `source` (the option
/// or environment variable the value came from).
StartMethod parse_start_method(const std::string& s, const std::string& source = "--start-method");
const char* start_method_name(StartMethod m);

}  // namespace poolrun::core
