// The bookkeeping of --map (core/map/map_pool.h) that needs no process: counting records in a byte
// stream (to cut input into chunks and to attribute a worker's output to its chunks) and the
// default chunksize. Finished chunks are released in input order by core/run/release_order.h.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace poolrun::core {

/// Counts records ended by a delimiter in a stream of bytes fed in pieces. A multi-byte delimiter
/// ("\r\n") may straddle two pieces. Used for a worker's output (each chunk needs as many output
/// records as it had input records) and for cutting the input into chunks.
/// Throws UsageError for an empty delimiter.
class RecordCounter {
 public:
  explicit RecordCounter(std::string delimiter);

  /// Scans `data` from its start and stops right after the `need`-th delimiter. Decreases `need`
  /// by the records ended and returns the bytes of `data` consumed: all of it when fewer than
  /// `need` delimiters end in it. `need` == 0 consumes nothing.
  std::size_t advance(std::string_view data, std::size_t& need);

  /// True when bytes were consumed since the last record ended (an unfinished record).
  bool mid_record() const { return mid_; }

  /// Forgets the unfinished record (a new worker starts at a record boundary).
  void reset() {
    tail_.clear();
    mid_ = false;
  }

  const std::string& delimiter() const { return delim_; }

 private:
  std::string delim_;
  std::string tail_;  // up to delim_.size() - 1 last bytes of the unfinished record
  bool mid_ = false;
};

/// The default chunksize. With a known number of records (a regular file): as Python's
/// Pool.map, ceil(records / (4 × workers)), at least 1. Unknown (a stream): 0, meaning "adaptive":
/// a chunk takes up to kStreamChunk records, fewer when the input has no more data at that moment.
std::size_t default_chunksize(std::optional<std::uint64_t> records, std::size_t workers);

/// Records per chunk at most in the adaptive (stream) mode.
inline constexpr std::size_t kStreamChunk = 1000;

/// How a worker's output ended, for deciding whether the chunks it completed may be printed.
/// Output is attributed to chunks by counting records (RecordCounter), so a worker that wrote a
/// record too many or too few before a chunk's end shifted records into it; see docs/map.md,
/// "The contract".
struct WorkerEnd {
  bool broke = false;             ///< it wrote more output records than it was sent input records
  std::size_t short_records = 0;  ///< output records its chunks still lacked when its output ended
  bool died = false;              ///< a signal, a non-zero status, ended by poolrun, or the run stopped
};

/// Why the chunks a worker completed (their record counts came back whole) must not be printed
/// as their results, or "" when they may be: a worker that broke the contract by writing too many
/// records, or that ended its output short of records by choice (it did not die), shifted records
/// between chunks. A worker that died stopped in the middle: what it completed is kept.
/// `broken_why`: the text for a broken worker.
std::string unattributable(const WorkerEnd& end, const std::string& broken_why);

}  // namespace poolrun::core
