// The supervisor: the one run-time under every pool of poolrun. It owns the event loop, the signal
// events, the guardian, the launcher, the reaping of children, the termination of process groups
// (--termseq) and the signal-aware writer of poolrun's stdout. A pool is a scheduling policy on top
// of it: the main job and batch start one process per job (core/run/engine.cc), --map keeps
// persistent workers fed with chunks (core/map/map_pool.cc). The role ninja's SubprocessSet plays.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_set>
#include <vector>

#include "core/run/config.h"
#include "core/run/start_method.h"
#include "core/run/termination.h"
#include "platform/event_loop.h"
#include "platform/process/guardian.h"

namespace poolrun::core {

/// Why a run stopped starting new work. Every failure after the first launch becomes one of these,
/// and the pool then ends the run the one way: work ended with the termseq, children reaped, what
/// was collected written, reports written.
enum class StopReason {
  None,         ///< not stopped
  Hangup,       ///< SIGHUP: start nothing new, let running work finish (as GNU parallel)
  Halt,         ///< --halt's condition was met
  Signal,       ///< SIGINT or SIGTERM
  Pipe,         ///< poolrun's stdout was closed by its reader (EPIPE)
  // From here on, a failure of poolrun's own (not a job's): it ends what runs, is said in one
  // line and gives exit status 255.
  InputError,   ///< an input could not be read
  OutputError,  ///< poolrun's stdout could not be written (other than EPIPE)
  SpillError,   ///< held output could not be spilled to a temporary file
  ReportError,  ///< a report, joblog or --results file could not be written
  LaunchError,  ///< no job could be started at all (process or fd limit, a dead forkserver)
  Setup,        ///< --map: a worker or its --init could not be started
  Error,        ///< anything else that went wrong in poolrun while work ran
};

/// True for the stops that are failures of poolrun's own (exit status 255).
inline bool is_failure(StopReason why) { return why >= StopReason::InputError; }

/// The name of a stop in the JSON reports' `stop_reason` field (docs/reports.md): "SIGHUP",
/// "halt", "signal", "stdout closed", "input error", "output error", "spill error", "report
/// error", "launch error", "worker start-up failed", "error"; "" for None.
const char* stop_reason_name(StopReason why);

/// poolrun's exit status, as GNU parallel's: 255 after SIGINT/SIGTERM or an error that stopped
/// the run; 141 (128 + SIGPIPE) when stdout's reader went away; else `halt_status` when --halt
/// decided it (>= 0); else the number of failures, 101 for more than 100.
int run_exit_status(StopReason why, int halt_status, std::size_t failures);

/// The monotonic deadline nearest in the future among `deadlines` (0 = none) as an epoll timeout
/// in milliseconds from `now` (seconds): -1 when there is none, else rounded up.
int timeout_ms_until(double next_deadline, double now);

/// The earlier of two monotonic deadlines, where 0 means "none".
inline double earliest(double a, double b) { return a == 0 ? b : (b == 0 ? a : (a < b ? a : b)); }

class Supervisor {
 public:
  /// The scheduling policy a pool gives the supervisor. Called only from Supervisor::run()'s thread.
  class Policy {
   public:
    virtual ~Policy() = default;
    /// Start what can start (jobs, chunks) before the loop waits. May launch through the supervisor.
    virtual void step() = 0;
    /// True when the run is over: nothing runs and nothing more will start.
    virtual bool finished() const = 0;
    /// An fd the policy added with a token >= kFirstPolicyToken is ready.
    virtual void on_ready(const platform::Ready& r) = 0;
    /// A child launched through launch() was reaped (once per child), with its status and rusage.
    virtual void on_exit(const ExitStatus& e) = 0;
    /// The first SIGINT or SIGTERM (`sig`): stop starting work and end what runs. A second one is
    /// the supervisor's own: SIGKILL to every group it launched, output abandoned.
    virtual void on_interrupt(int sig) = 0;
    /// SIGHUP: start nothing new (as GNU parallel); running work finishes.
    virtual void on_hangup() = 0;
    /// Time passed (monotonic seconds `now`): timeouts, grace periods, progress.
    virtual void on_timers(double now) = 0;
    /// The policy's next monotonic deadline (seconds), or 0 for none.
    virtual double next_deadline(double now) const = 0;
    /// The launcher can start nothing more (its forkserver died): told once.
    virtual void on_launcher_gone(const std::string& why) {}
    /// Something the policy called in this turn of the loop threw (`why` InputError for an
    /// InputError, else Error, with the exception's message). Nothing leaves the loop by an
    /// exception while a child is unreaped: the policy makes it the run's stop reason.
    virtual void on_failure(StopReason why, const std::string& message) = 0;
  };

  /// Tokens below this are the supervisor's own (signals, the launcher's exit reports).
  static constexpr std::uint64_t kFirstPolicyToken = 16;

  /// `launcher` and `termseq` must outlive the supervisor.
  Supervisor(Launcher& launcher, const std::vector<TermStep>& termseq)
      : launcher_(launcher), terminations_(termseq) {}

  /// Blocks the handled signals (SIGCHLD, SIGINT, SIGTERM, SIGHUP) into a signalfd and, when
  /// `guard` (jobs will run), starts the guardian first, so that no job starts unguarded. Throws
  /// std::system_error when the signalfd or the epoll set cannot be made (before any launch). Call
  /// once, before the first launch.
  void start(bool guard);

  /// Runs `policy` until it is finished(); then SIGKILLs any group whose termination sequence is
  /// still running (nothing outlives the run). Never throws while a child is unreaped: an
  /// exception from the policy goes back to it as on_failure(), and the loop goes on.
  void run(Policy& policy);

  /// The event loop, for the policy's own fds (tokens >= kFirstPolicyToken).
  platform::EventLoop& loop() { return loop_; }

  /// Starts one process through the launcher, guarded (the guardian ends its group if poolrun
  /// dies). Never throws; a failure is returned as the launcher returned it (what to do when the
  /// system is out of processes is the policy's: wait for a child to end, or back off).
  LaunchResult launch(const LaunchRequest& req);

  /// Starts a process that runs the built-in entry point `id` (platform/process/builtin.h) with
  /// `in_fd` as its fd 0 and `out_fd` as its fd 1 (both borrowed), guarded and reaped as launch()'s
  /// children are (bench's worker processes). Never throws; a failure is returned as the launcher
  /// returned it.
  LaunchResult launch_builtin(platform::BuiltinId id, int in_fd, int out_fd);

  /// The signal events start() made (SIGINT, SIGTERM, SIGHUP, SIGCHLD), for work that runs
  /// outside run() between two runs (bench's thread executors); nullptr before start().
  platform::SignalEvents* signal_events() { return signals_ ? &*signals_ : nullptr; }

  /// The launcher's start method name ("spawn", "fork", "forkserver").
  const char* start_method() const { return launcher_.name(); }
  /// False once the launcher can start nothing more (a forkserver whose server died).
  bool launcher_usable() const { return launcher_.usable(); }

  /// Ends process group `pgid` with the termseq (`kill_now`: SIGKILL at once). Idempotent.
  void terminate(int pgid, bool kill_now = false);

  /// The child `pgid` was reaped but descendants still hold its output: its group is followed
  /// (termination.h), so that ending it later never signals an id that went to someone else.
  void follow(int pgid);

  /// The policy is done with the child `pgid` (reaped, output taken): a followed group is let go,
  /// and the guardian stops watching it unless a termination sequence still runs against it (then
  /// when that ends).
  void release(int pgid);

  /// Writes `data` to poolrun's stdout or stderr (`fd` 1 or 2), waiting for room together with
  /// the signals, so a reader that stops reading does not make poolrun deaf to SIGINT/SIGTERM
  /// (signals that arrive meanwhile are handled, the policy told). A second SIGINT/SIGTERM while
  /// it waits abandons all further output: then it returns success without writing. Returns the write's error (EPIPE when
  /// the reader went away). Children reaped meanwhile are reported after the write, never inside.
  std::error_code write(int fd, std::string_view data);

  /// SIGINT/SIGTERM received so far.
  int interrupts() const { return interrupts_; }
  /// True once a second SIGINT/SIGTERM came while output waited for its reader: the rest of the
  /// output is dropped.
  bool abandoned() const { return abandoned_; }

 private:
  void on_signals();
  void on_exits();
  void group_ended(int pgid);

  Launcher& launcher_;
  Terminations terminations_;
  platform::EventLoop loop_;
  std::optional<platform::SignalEvents> signals_;
  platform::Guardian guardian_;
  Policy* policy_ = nullptr;
  std::unordered_set<int> live_;  // launched, not yet reaped (their groups, for a second signal)
  std::vector<ExitStatus> exits_;
  std::vector<int> sigs_;
  int interrupts_ = 0;
  bool abandoned_ = false;
  int writing_ = 0;            // nesting depth of write(): no reaping inside it
  bool pending_child_ = false; // SIGCHLD seen inside a write: reap after it
  bool launcher_gone_ = false; // the policy was told the launcher can start nothing more
};

}  // namespace poolrun::core
