// An append-only anonymous temp file for output that does not fit in poolrun's memory budget.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <system_error>

#include "platform/fd.h"
#include "platform/system.h"

namespace poolrun::platform {

/// One spill file per run, made on first use in the private temp dir (0600, already unlinked).
/// Segments are appended and read back by offset; when no segment is live any more the file is
/// truncated, so disk use follows what is held, not what went through.
class SpillFile {
 public:
  explicit SpillFile(PrivateTempDir& dir) : dir_(dir) {}

  /// Appends `data` and sets `at` to its offset. Returns the error when the file cannot be made
  /// (e.g. TMPDIR missing) or the disk write fails (ENOSPC); then nothing counts as appended and
  /// the caller still owns the bytes. Never throws.
  std::error_code append(std::string_view data, std::uint64_t& at);

  /// The directory the file is (or would be) in, for error messages: $TMPDIR or /tmp.
  std::string where() const;

  /// Where copied bytes go; returns the write error, if any.
  using Sink = std::function<std::error_code(std::string_view)>;

  /// Passes `len` bytes from `offset` to `sink` in bounded pieces. Returns the sink's error, or
  /// the read error.
  std::error_code copy_to(std::uint64_t offset, std::uint64_t len, const Sink& sink);

  /// Marks `len` bytes as no longer needed; truncates the file when nothing is live.
  void release(std::uint64_t len);

  std::uint64_t live_bytes() const { return live_; }

 private:
  PrivateTempDir& dir_;
  UniqueFd fd_;
  std::uint64_t end_ = 0;
  std::uint64_t live_ = 0;
};

}  // namespace poolrun::platform
