// `poolrun bench`'s executors for built-in tasks (core/bench/bench.h): a process pool (Python's
// multiprocessing.Pool: workers started through a start method, tasks and results over pipes in
// chunks of `chunksize`; platform/bench/worker.h has the worker and the wire format), a
// std::thread pool, and serial execution in one thread (platform/bench/threads.h).
//
// The process pool is a scheduling policy on the supervisor (core/run/supervisor.h), as the main
// job and --map are: the supervisor's loop carries its pipes, signals and reaping; its workers are
// guarded, and ended with the termseq when a run is interrupted.
// Batching: the pool keeps several chunks in flight per worker when tasks are short (as many as
//   take ~1 ms, judged from the time workers report), so at chunksize 1 a task costs a few hundred
//   bytes of memcpy, not a system call round trip. Long tasks get one chunk per worker at a time,
//   so a free worker takes the next (as Pool's shared queue does).
// A worker that ends early (killed): the pool reads EOF on its results, runs the chunks it held
//   again on a new worker; a chunk that loses its worker twice counts as failed. The sweep goes on.
// Interruption: SIGINT, SIGTERM or SIGHUP stops a run of any executor. The process pool ends its
//   workers' process groups with the termseq (a second signal: SIGKILL at once, the supervisor's
//   own) and reaps every one; threads and serial execution stop at the next check of a task. The
//   run comes back with stop_signal set.
#pragma once
#include <cstddef>

#include "core/bench/bench.h"
#include "core/run/supervisor.h"
#include "platform/bench/tasks.h"

namespace poolrun::core {

/// What one executor run does.
struct PoolOptions {
  BenchTask task;
  std::size_t tasks = 1;      ///< items 0 .. tasks-1
  std::size_t workers = 1;    ///< processes or threads (serial ignores it)
  std::size_t chunksize = 1;  ///< items per message (process), per grab from the queue (thread)
  bool gil = false;           ///< a task holds a lock (per process, or one for all threads) while it computes
  bool sync = false;          ///< --submit sync: one task at a time, each awaited (Pool.apply)
};

/// `task` in the fixed-size form the workers and threads run. Throws UsageError when a read:
/// path does not fit (PATH_MAX).
platform::WorkerConfig make_worker_config(const BenchTask& task, bool gil);

/// Runs every task through a pool of `o.workers` worker processes that `sup` launches (started:
/// Supervisor::start(true)), then closes the pool and reaps its workers. Wall time from the first
/// worker's start to the last one's reaping; CPU time is the workers' rusage as the supervisor
/// reports their exits; run-queue wait is the sum the workers report from
/// /proc/thread-self/schedstat (unknown when a worker was lost). Failed tasks are counted, the
/// first one's cause in BenchRun::first_error. A signal ends and reaps every worker and returns
/// with stop_signal set. Throws SystemError when no worker can be started at all (after reaping
/// those that were), or when the run fails in poolrun itself (after ending and reaping them).
BenchRun run_process_pool(Supervisor& sup, const PoolOptions& o);

/// Runs every task on `o.workers` std::threads (or, `thread == false`, serially in one thread)
/// while the calling thread waits for `signals` (nullptr: not interruptible). CPU time is the
/// process's own over the run. Throws SystemError when the run cannot be watched (no pipe).
BenchRun run_in_threads(const PoolOptions& o, bool thread, platform::SignalEvents* signals);

}  // namespace poolrun::core
