// `poolrun bench`'s executors that run built-in tasks (platform/bench/tasks.h) inside poolrun: a
// std::thread pool (Python's ThreadPool / concurrent.futures.ThreadPoolExecutor) and serial
// execution in one thread; and the few process-wide helpers a bench sweep needs between runs.
// (The process pool is a policy on the supervisor: core/bench/executors.h.)
//
// Interruption: with `signals`, the calling thread waits for SIGINT, SIGTERM or SIGHUP while the
// run goes on in other threads; the first one asks the tasks to stop (set_stop), they return at
// their next check (about every million iterations, every 50 ms of sleep), and the run comes back
// with stop_signal set.
#pragma once
#include <cstddef>
#include <cstdint>
#include <system_error>

#include "platform/bench/tasks.h"
#include "platform/event_loop.h"

namespace poolrun::platform {

/// What one thread or serial run does.
struct ThreadRunOptions {
  const WorkerConfig* task = nullptr;  ///< borrowed
  std::size_t tasks = 1;               ///< items 0 .. tasks-1
  std::size_t workers = 1;             ///< threads (serial ignores it)
  std::size_t chunksize = 1;           ///< items per grab from the shared counter
  bool sync = false;                   ///< one task at a time, each awaited (Pool.apply)
  /// Where SIGINT, SIGTERM and SIGHUP arrive; each stops the run. Borrowed; nullptr: the run
  /// cannot be interrupted (and runs in the calling thread).
  SignalEvents* signals = nullptr;
};

/// What one thread or serial run did. Times in seconds.
struct ThreadRun {
  double wall_s = 0;
  double user_s = 0, sys_s = 0;  ///< the process's CPU time over the run (getrusage RUSAGE_SELF)
  double runqueue_s = 0;         ///< summed over the threads that ran tasks
  bool runqueue_known = false;
  std::size_t tasks_failed = 0;
  int first_errno = 0;           ///< the first failed task's errno; 0 when none failed
  std::uint64_t checksum = 0;    ///< the sum of the results modulo 2^64
  int stop_signal = 0;           ///< the signal that cut the run short; 0 when it ran to its end
};

/// Runs every task on `o.workers` std::threads taking chunks of `o.chunksize` from a shared
/// counter. Returns an error code only when the run could not be watched (no pipe for it).
std::error_code run_thread_pool(const ThreadRunOptions& o, ThreadRun& out);

/// Runs every task in turn, in one thread (not the calling one when `o.signals` is set). Returns
/// an error code only when the run could not be watched (no pipe for it).
std::error_code run_serial(const ThreadRunOptions& o, ThreadRun& out);

/// Takes the signals waiting on `signals` without blocking: the first SIGINT, SIGTERM or SIGHUP
/// among them, or 0 (a SIGCHLD alone is dropped: between runs every child has been reaped).
int take_stop_signal(SignalEvents& signals);

/// Points fd 1 at /dev/null (a benchmarked command's output is not wanted); returns a copy of the
/// old fd 1 for restore_stdout(), or -1 when fd 1 was not open.
int silence_stdout();
/// Puts back the fd 1 that silence_stdout() saved (and closes the copy); -1 does nothing.
void restore_stdout(int saved);

/// CPU seconds (user, system) of this process's reaped children so far (RUSAGE_CHILDREN).
void children_cpu(double& user_s, double& sys_s);

}  // namespace poolrun::platform
