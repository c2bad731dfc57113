// Held job output: memory up to a run-wide budget, then a spill file. Bytes come out exactly as
// they went in, in order.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "platform/spill.h"

namespace poolrun::core {

/// The run-wide memory budget for held output, and where the excess goes.
struct OutputBudget {
  std::size_t limit = 64u << 20;  ///< bytes of held output kept in memory, over all jobs
  std::size_t used = 0;           ///< bytes in memory now
  platform::SpillFile* spill = nullptr;
};

/// Output held back for one stream of one job (grouped mode, -k, or a line-buffer's partial
/// line). Append-only until written; writing releases memory and spilled bytes. Never throws
/// (but std::bad_alloc): a failed spill is returned, and the bytes are kept in memory instead.
class HeldOutput {
 public:
  explicit HeldOutput(OutputBudget& budget) : budget_(&budget) {}
  HeldOutput(HeldOutput&& o) noexcept;
  HeldOutput& operator=(HeldOutput&&) = delete;
  HeldOutput(const HeldOutput&) = delete;
  ~HeldOutput() { clear(); }

  /// Appends `data`. Returns the spill file's error when the bytes are over the budget and cannot
  /// be spilled (no TMPDIR, a full disk): they are then held in memory over the budget, so nothing
  /// collected is lost, and the caller is expected to stop the run (memory is no longer bounded).
  std::error_code append(std::string_view data);

  /// Appends `data` with `prefix` at the start of every line (--tag). `at_line_start` carries
  /// the state between calls (start with true). Errors as append().
  std::error_code append_tagged(std::string_view data, std::string_view prefix, bool& at_line_start);

  /// Passes everything held to `sink`, in order, then clears. Returns the sink's error, if any.
  std::error_code write_to(const platform::SpillFile::Sink& sink);

  /// The last byte held ('\n' when empty).
  char last_byte() const { return last_; }

  /// Bytes held.
  std::uint64_t size() const { return mem_.size() + spilled_ + tail_.size(); }
  bool empty() const { return size() == 0; }
  void clear();

 private:
  OutputBudget* budget_;
  std::string mem_;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> segments_;  // (offset, length) in spill
  std::uint64_t spilled_ = 0;
  std::string tail_;  // bytes after the segments that could not be spilled (over the budget)
  char last_ = '\n';
};

}  // namespace poolrun::core
