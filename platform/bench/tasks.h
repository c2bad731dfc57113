// `poolrun bench`'s built-in tasks (cpu:N, io:S, read:PATH, mix:N:S, square:S[-S2]; parsed by
// core/bench/bench.h) as code that runs them: in a worker process (platform/bench/worker.h) or in
// poolrun's own threads (platform/bench/threads.h). Allocation-free and lock-free (but for the
// emulated GIL, a mutex of its own), so they may run in a forked copy of poolrun.
#pragma once
#include <limits.h>

#include <cstdint>

namespace poolrun::platform {

/// What a task does (the order is the wire format's: WorkerConfig::kind).
enum class TaskKind : std::uint32_t {
  Cpu,     ///< cpu:N — N iterations of an integer recurrence
  Io,      ///< io:S — sleeps S seconds
  Read,    ///< read:PATH — reads the file to its end
  Mix,     ///< mix:N:S — computes N iterations, then sleeps S seconds
  Square,  ///< square:S[-S2] — sleeps between S and S2 seconds (fixed by the item), returns item²
};

inline constexpr std::uint32_t kConfigMagic = 0x50524257;  // "PRBW"

/// A task in fixed-size form: what crosses the pipe to a worker process, and what threads use
/// too. Built by core/bench/executors.h (make_worker_config).
struct WorkerConfig {
  std::uint32_t magic;       ///< kConfigMagic
  std::uint32_t kind;        ///< TaskKind
  std::uint32_t gil;         ///< 1: a task holds a lock (per process, or one for all threads) while it computes
  std::uint32_t path_len;    ///< read: bytes of `path`
  std::uint64_t iterations;  ///< cpu, mix
  std::int64_t sleep_ns;     ///< io, mix, square (its lower end)
  std::int64_t sleep_max_ns; ///< square: the upper end
  char path[PATH_MAX];       ///< read: the file (NUL-terminated by the reader)
};

/// Runs task `item`. Returns its result; sets `err` to the errno of the failure when it could not
/// run (read: the file), to 0 otherwise. A stop request (set_stop) ends a computing task within
/// about a million iterations and a sleeping one within 50 ms; its result is then meaningless.
std::int64_t run_task(const WorkerConfig& c, std::uint64_t item, int& err) noexcept;

/// The calling thread's time spent waiting on a run queue (runnable, not running), in ns, from
/// /proc/thread-self/schedstat (second field); -1 when the kernel does not provide it.
/// Allocation-free: the worker calls it in a forked copy.
std::int64_t runqueue_wait_ns() noexcept;

/// Asks tasks running in poolrun's own threads to return early (true), or lets them run (false).
/// Never set in a worker process, which its termination signal ends instead.
void set_stop(bool stop) noexcept;
/// True while a stop is requested (a relaxed atomic load).
bool stop_requested() noexcept;

/// Monotonic clock in nanoseconds.
std::int64_t now_ns() noexcept;

}  // namespace poolrun::platform
