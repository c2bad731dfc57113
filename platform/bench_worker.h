// `poolrun bench`'s executors for built-in tasks (core/bench/bench.h): a process pool (Python's
// multiprocessing.Pool: workers started through a start method, tasks and results over pipes in
// chunks of `chunksize`), a std::thread pool, and serial execution in the calling thread.
//
// ## The process pool's wire format (pipes, native-endian: both ends are the same binary)
// pool -> worker (the worker's fd 0): one WorkerConfig, then 16-byte Chunk records {first item,
//   count}. EOF: the pool closes the pool; the worker exits 0.
// worker -> pool (the worker's fd 1): per chunk, a ChunkResult {first, count, failed, ns, errno of
//   the first failed task} then `count` int64 results in item order (a big chunk in several such
//   pieces). At EOF, a Trailer
//   {magic, run-queue wait in ns} before the worker exits.
// Batching: the pool keeps several chunks in flight per worker when tasks are short (as many as
//   take ~1 ms, judged from the time workers report), and the worker reads whatever has arrived,
//   runs it all and writes the results in one write before it blocks on the next read. So at
//   chunksize 1 a task costs a few hundred bytes of memcpy, not a system call round trip. Long
//   tasks get one chunk per worker at a time, so a free worker takes the next (as Pool's shared
//   queue does).
// A worker that ends early (killed): the pool reads EOF on its results, collects its exit status,
//   runs the chunks it held again on a new worker; a chunk that loses its worker twice counts as
//   failed. The sweep goes on.
// Interruption: SIGINT, SIGTERM or SIGHUP (taken from PoolOptions::signals) stops a run of any
//   executor. The process pool ends its workers' process groups with the termseq (as the main job
//   ends its jobs; a second signal: SIGKILL at once) and reaps every one; threads and serial
//   execution stop at the next check of a task (a computing task checks about every million
//   iterations, a sleeping one every 50 ms). The run comes back with stop_signal set.
//   While a worker lives its process group is in the Guardian's table, so a SIGKILL of poolrun
//   ends it too.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/bench/bench.h"
#include "core/run/config.h"
#include "platform/process/launcher.h"

namespace poolrun::platform {

class Guardian;
class SignalEvents;

/// The worker loop's name as a built-in entry point (platform/process/builtin.h): main() registers
/// run_builtin_worker() under it, and the process pool starts workers with launch_builtin().
inline constexpr const char* kBenchWorkerEntry = "bench-worker";

/// The worker loop: reads a WorkerConfig and chunks from fd 0, writes results to fd 1, _exits 0 at
/// EOF (1 on a protocol error). Allocation-free and lock-free (but for the emulated GIL, a mutex of
/// its own), so it may run in a forked copy of poolrun or of the forkserver. Does not return.
[[noreturn]] void run_builtin_worker() noexcept;

/// What one executor run does.
struct PoolOptions {
  core::BenchTask task;
  std::size_t tasks = 1;      ///< items 0 .. tasks-1
  std::size_t workers = 1;    ///< processes or threads (serial ignores it)
  std::size_t chunksize = 1;  ///< items per message (process), per grab from the queue (thread)
  bool gil = false;           ///< a task holds a lock (per process, or one for all threads) while it computes
  bool sync = false;          ///< --submit sync: one task at a time, each awaited (Pool.apply)
  /// Where SIGINT, SIGTERM and SIGHUP arrive (and SIGCHLD, which wakes the reaping); each stops the
  /// run. Borrowed; nullptr: the run cannot be interrupted (then it runs in the calling thread).
  SignalEvents* signals = nullptr;
  /// Borrowed, already started, or nullptr: worker process groups are watched while they live.
  Guardian* guardian = nullptr;
  /// How an interrupted process pool ends its workers (the main job's default --termseq).
  std::vector<core::TermStep> termseq = core::RunConfig().termseq;
};

/// Runs every task through a pool of `o.workers` worker processes started by `launcher`, then
/// closes the pool and reaps its workers. Wall time from the first worker's start to the last
/// one's reaping; CPU time is the workers' rusage as collect() reports it; run-queue wait is the
/// sum the workers report from /proc/thread-self/schedstat (unknown when a worker was lost).
/// Failed tasks are counted, the first one's cause (errno) in BenchRun::first_error. A signal
/// (see PoolOptions::signals) ends and reaps every worker and returns with stop_signal set.
/// Throws SystemError when no worker can be started at all (after reaping those that were).
core::BenchRun run_process_pool(const PoolOptions& o, Launcher& launcher);

/// Runs every task on `o.workers` std::threads taking chunks from a shared counter. CPU time from
/// getrusage(RUSAGE_SELF) around the run. With `o.signals`, the calling thread waits for the
/// signals while the pool runs, and a signal stops the tasks (stop_signal set).
core::BenchRun run_thread_pool(const PoolOptions& o);

/// Runs every task in turn, in one thread. CPU time from getrusage(RUSAGE_SELF). With `o.signals`
/// that thread is not the calling one, which waits for the signals as run_thread_pool's does.
core::BenchRun run_serial(const PoolOptions& o);

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
