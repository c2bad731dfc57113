// --progress, --eta and --bar: one status line on stderr, as GNU parallel offers them.
#pragma once
#include <cstddef>
#include <optional>
#include <string>

namespace poolrun::core {

/// What the status line shows. Times in seconds.
struct ProgressState {
  std::size_t running = 0, done = 0, failed = 0;
  std::optional<std::size_t> total;  ///< jobs in all, when known
  double elapsed_s = 0;
};

/// Formats the status line (no newline, no escape codes) to fit `width` columns:
/// "done 40/100 (2 failed), 4 running, 12.5 jobs/s", with --eta " ETA 5s" (or "ETA ?" while the
/// total or the rate is unknown), and with --bar a bar "[#####-----] 40%" in front when the total
/// is known.
std::string format_progress(const ProgressState& st, bool eta, bool bar, std::size_t width);

}  // namespace poolrun::core
