// The launcher interface: how poolrun starts a job's process and learns that it ended.
// Implementations are the start methods (spawn, fork, forkserver: platform/process/launchers.h);
// the engine (core/) does not care which one launched a job. Tests may provide a fake.
//
// The vocabulary follows ninja's and folly's `Subprocess`: a started process is a Child (its pid
// and process group), and what became of it is a ChildState value (folly's ProcessReturnCode):
// running, exited(code) or killed(signal).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace poolrun::platform {

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

/// The step of starting a child that failed. The values travel over the forkserver's socket and
/// through the fork method's error pipe (platform/process/child_exec.h), so they are fixed.
enum class LaunchStage : std::int32_t {
  None = 0,
  Pipe = 1,        ///< a pipe the launcher needs (fork's error pipe) could not be made
  Fork = 2,        ///< fork/clone itself: EAGAIN here is the process limit (RLIMIT_NPROC)
  Setpgid = 3,     ///< setpgid(0, 0) in the child
  Dup2 = 4,        ///< putting the stdio plan in place
  Chdir = 5,       ///< chdir to the requested working directory
  Sigmask = 6,     ///< emptying the signal mask
  Exec = 7,        ///< execve
  Spawn = 8,       ///< posix_spawn failed before exec and does not say which step (not EAGAIN)
  Forkserver = 9,  ///< talking to the forkserver (it is gone: EPIPE), or a request it refused
  Builtin = 10,    ///< the built-in entry point asked for is not registered (ENOENT)
};

/// The stage's name as poolrun prints it ("fork", "exec", "chdir", ...). Never nullptr.
const char* stage_name(LaunchStage stage) noexcept;

/// How a child stands, as a value (folly's ProcessReturnCode): running, exited with a code, or
/// killed by a signal.
class ChildState {
 public:
  enum class Kind { Running, Exited, Killed };

  static constexpr ChildState running() noexcept { return ChildState(Kind::Running, 0, false); }
  /// `code`: the exit status, 0..255.
  static constexpr ChildState exited(int code) noexcept { return ChildState(Kind::Exited, code, false); }
  /// `signal`: the terminating signal's number; `core_dumped` as WCOREDUMP says.
  static constexpr ChildState killed(int signal, bool core_dumped = false) noexcept {
    return ChildState(Kind::Killed, signal, core_dumped);
  }
  /// From a wait status (waitpid's `wstatus`). A stopped or continued status reads as running.
  static ChildState from_wait_status(int wstatus) noexcept;

  Kind kind() const noexcept { return kind_; }
  bool is_running() const noexcept { return kind_ == Kind::Running; }
  bool is_exited() const noexcept { return kind_ == Kind::Exited; }
  bool is_killed() const noexcept { return kind_ == Kind::Killed; }
  /// The exit status when exited, otherwise -1.
  int exit_code() const noexcept { return kind_ == Kind::Exited ? value_ : -1; }
  /// The signal's number when killed, otherwise 0.
  int signal() const noexcept { return kind_ == Kind::Killed ? value_ : 0; }
  bool core_dumped() const noexcept { return core_dumped_; }
  /// "running", "exited 3", "killed by SIGTERM" (for messages and tests).
  std::string str() const;

  friend bool operator==(const ChildState& a, const ChildState& b) noexcept {
    return a.kind_ == b.kind_ && a.value_ == b.value_ && a.core_dumped_ == b.core_dumped_;
  }
  friend bool operator!=(const ChildState& a, const ChildState& b) noexcept { return !(a == b); }

 private:
  constexpr ChildState(Kind k, int v, bool core) noexcept : kind_(k), value_(v), core_dumped_(core) {}
  Kind kind_;
  int value_;
  bool core_dumped_;
};

/// A started process. Every launcher's child leads a process group of its own (pgid == pid), so
/// the job and whatever it starts are signalled together with kill(-pgid, sig).
struct Child {
  int pid = -1;
  int pgid = -1;
  ChildState state = ChildState::running();
  bool valid() const noexcept { return pid > 0; }
};

/// Outcome of launch(): the Child, or the step that failed and its error (an errno value in the
/// system category: compare with std::errc, e.g. `error == std::errc::resource_unavailable_try_again`).
struct LaunchResult {
  Child child;
  LaunchStage stage = LaunchStage::None;
  std::error_code error;
  bool ok() const noexcept { return child.valid(); }

  /// A started child (pid > 0).
  static LaunchResult started(int pid) noexcept {
    LaunchResult r;
    r.child.pid = pid;
    r.child.pgid = pid;
    return r;
  }
  /// A failure at `stage` with errno value `err`.
  static LaunchResult failed(LaunchStage stage, int err) noexcept {
    LaunchResult r;
    r.stage = stage;
    r.error = std::error_code(err, std::system_category());
    return r;
  }
  /// The process limit (RLIMIT_NPROC) or the kernel's memory for a new process is exhausted: the
  /// launch may work once another process has ended (GNU parallel then waits for a job to end).
  bool is_try_again() const noexcept {
    return !ok() && error == std::errc::resource_unavailable_try_again;
  }
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

  /// The same as a ChildState value: exited(exit_code) or killed(signal).
  ChildState state() const noexcept {
    return signal != 0 ? ChildState::killed(signal, core_dumped) : ChildState::exited(exit_code);
  }
  /// An ExitStatus for `pid` in `state` (no resource usage).
  static ExitStatus of(int pid, ChildState state) noexcept {
    ExitStatus st;
    st.pid = pid;
    st.exit_code = state.exit_code();
    st.signal = state.signal();
    st.core_dumped = state.core_dumped();
    return st;
  }
};

/// A built-in entry point's name, as registered with register_builtin() (platform/process/builtin.h).
using BuiltinId = const char*;

/// Starts jobs. Contract for every implementation:
///  - the child runs in a new process group of its own (pgid == pid);
///  - its signal mask is empty and every signal has its default disposition;
///  - it receives exactly fds 0, 1, 2;
///  - every child is eventually reported once through collect(), with its status and rusage.
/// Not thread-safe: called from one thread only.
class Launcher {
 public:
  virtual ~Launcher() = default;

  /// The start method's name: "spawn", "fork" or "forkserver".
  virtual const char* name() const = 0;

  /// Starts one process. Never throws; failures are returned in LaunchResult. A process limit
  /// (RLIMIT_NPROC) shows as stage Fork with EAGAIN in every start method.
  virtual LaunchResult launch(const LaunchRequest& req) = 0;

  /// An fd the event loop should watch for readability (exit reports from a server), or -1 when
  /// exits are learnt from SIGCHLD.
  virtual int event_fd() const { return -1; }

  /// Non-blocking: appends every child that has ended since the last call. The caller calls it on
  /// SIGCHLD and when event_fd() is readable.
  virtual void collect(std::vector<ExitStatus>& out) = 0;

  /// Blocking: waits until at least one child is reported (used only when shutting down).
  virtual void collect_blocking(std::vector<ExitStatus>& out) = 0;

  /// True while the launcher can start processes. False for good once a forkserver's server has
  /// gone (its failure is then reported by every later launch as stage Forkserver, EPIPE).
  virtual bool usable() const { return true; }

  /// Starts a process that runs the built-in entry point `id` (registered with register_builtin(),
  /// platform/process/builtin.h) instead of a command: `in_fd` (borrowed) becomes its fd 0,
  /// `out_fd` (borrowed) its fd 1; fd 2 is poolrun's. How the process's image comes about is the
  /// start method's (as Python's Pool workers): spawn execs poolrun itself with the hidden argument
  /// kBuiltinArg; fork runs the entry in a forked copy of the caller (so call it while the caller
  /// has no other thread); forkserver forks it from the server, a copy of poolrun made at
  /// start-up. The same contract as launch() otherwise (own process group, default signals,
  /// reported once through collect() with its rusage). Never throws. An unknown `id` fails with
  /// stage Builtin, ENOENT; this default, for launchers without them (test fakes), fails with
  /// stage Builtin, ENOSYS.
  virtual LaunchResult launch_builtin(BuiltinId id, int in_fd, int out_fd) {
    (void)id, (void)in_fd, (void)out_fd;
    LaunchResult r;
    r.stage = LaunchStage::Builtin;
    r.error = std::make_error_code(std::errc::function_not_supported);
    return r;
  }
};

/// The start methods (as Python's multiprocessing): how a child is started.
enum class StartMethod { Spawn, Fork, Forkserver };

/// "spawn", "fork" or "forkserver".
const char* start_method_name(StartMethod m) noexcept;

}  // namespace poolrun::platform
