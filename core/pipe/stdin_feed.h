// What the engine writes into a job's stdin pipe with --pipe and --pipepart: bytes held in
// memory (a chunk, or a header), then optionally a byte range of a file moved without copying.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

namespace poolrun::core {

/// One job's stdin data and the engine's progress through it. Owned by the job (JobSpec).
struct StdinFeed {
  std::string data;                 ///< written first (--pipe: header + chunk; --pipepart: header)
  int file_fd = -1;                 ///< --pipepart: the file, borrowed from the source; -1: none
  std::uint64_t file_offset = 0;    ///< first byte of the range
  std::uint64_t file_length = 0;    ///< bytes in the range
  std::size_t records = 0;          ///< records handed to the job (0 when not counted)
  bool records_known = false;       ///< false: --pipepart does not read its ranges to count them
  std::uint64_t written = 0;        ///< bytes the job's pipe has taken (all chunks)

  /// --round-robin: called once the current data is written; loads the next chunk into `data`
  /// (and adds to `records`). Returns Refill::More, Refill::Later (no chunk yet: the source is
  /// waiting for input) or Refill::End (no more chunks: close the job's stdin).
  enum class Refill { More, Later, End };
  std::function<Refill(StdinFeed&)> refill;

  // Progress (reset by restart()):
  std::size_t data_pos = 0;
  std::uint64_t file_pos = 0;  ///< bytes of the range already moved
  /// Bytes of the current data and file range not yet written (a --round-robin job's chunk in
  /// progress; later chunks are not counted).
  std::uint64_t unwritten() const {
    return (data.size() - data_pos) + (file_fd >= 0 ? file_length - file_pos : 0);
  }
  /// Back to the start of this job's data (a --retries attempt resends it).
  void restart() {
    data_pos = 0;
    file_pos = 0;
  }
};

/// Outcome of pump().
enum class FeedState {
  Blocked,  ///< the pipe is full: wait until it is writable
  Waiting,  ///< --round-robin: no chunk yet; try again after more input is read
  Done,     ///< everything written: close the pipe
  Broken,   ///< the job stopped reading (EPIPE) or another write error (`error` set): close it
};

/// Writes as much of `feed` into the non-blocking pipe `fd` as it takes now (at most 16 writes
/// of up to 1 MiB per call), refilling it with --round-robin. Never blocks. `error` receives the
/// errno of a Broken feed. Propagates InputError from `refill`.
FeedState pump(StdinFeed& feed, int fd, int& error);

}  // namespace poolrun::core
