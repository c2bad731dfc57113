// `poolrun bench`'s worker process for built-in tasks (platform/bench/tasks.h), and the wire
// format between it and the process pool that feeds it (core/bench/executors.h), as Python's
// multiprocessing.Pool workers: started through a start method, tasks and results over pipes in
// chunks of `chunksize`.
//
// ## The wire format (pipes, native-endian: both ends are the same binary)
// pool -> worker (the worker's fd 0): one WorkerConfig, then 16-byte Chunk records {first item,
//   count}. EOF: the pool closes the pool; the worker exits 0.
// worker -> pool (the worker's fd 1): per chunk, a ChunkResult {first, count, failed, ns, errno of
//   the first failed task} then `count` int64 results in item order (a big chunk in several such
//   pieces). At EOF, a Trailer {magic, run-queue wait in ns} before the worker exits.
// The worker reads whatever has arrived, runs it all and writes the results in one write before it
// blocks on the next read, so at chunksize 1 a task costs a few hundred bytes of memcpy, not a
// system call round trip (when the pool keeps several chunks in flight).
#pragma once
#include <cstdint>

#include "platform/bench/tasks.h"

namespace poolrun::platform {

/// A range of items for a worker to run: items first .. first+count-1.
struct Chunk {
  std::uint64_t first;
  std::uint64_t count;
};
static_assert(sizeof(Chunk) == 16);

/// The head of one piece of a chunk's results; `count` int64 values follow.
struct ChunkResult {
  std::uint64_t first;   ///< the piece's first item
  std::uint32_t count;   ///< results in the piece
  std::uint32_t failed;  ///< tasks of the piece that failed (their result is 0)
  std::int64_t ns;       ///< time the piece took in the worker
  std::int32_t err;      ///< errno of the piece's first failed task; 0 when none failed
  std::uint32_t unused;
};
static_assert(sizeof(ChunkResult) == 32);

/// The worker's last record, after the pool closed its task pipe: how long it waited for a CPU.
inline constexpr std::uint64_t kTrailerMagic = 0x5052425754524c52ull;  // "PRBWTRLR"
struct Trailer {
  std::uint64_t magic;       ///< kTrailerMagic
  std::int64_t runqueue_ns;  ///< -1: unknown
};

/// The worker loop's name as a built-in entry point (platform/process/builtin.h): main() registers
/// run_builtin_worker() under it, and the process pool starts workers with launch_builtin().
inline constexpr const char* kBenchWorkerEntry = "bench-worker";

/// The worker loop: reads a WorkerConfig and chunks from fd 0, writes results to fd 1, _exits 0 at
/// EOF (1 on a protocol error). Allocation-free, so it may run in a forked copy of poolrun or of
/// the forkserver. Does not return.
[[noreturn]] void run_builtin_worker() noexcept;

}  // namespace poolrun::platform
