// Ending process groups with a termination sequence (GNU parallel's --termseq), shared by the
// engine and the --map worker pool.
#pragma once
#include <cstddef>
#include <functional>
#include <vector>

#include "core/run/config.h"

namespace poolrun::core {

/// The process groups being ended. Each gets the sequence's first signal at once, then, whenever
/// its step's wait (TermStep::wait_ms) is over and the group still lives, the next signal; a group
/// still alive after the last step gets SIGKILL, so ending never hangs. Not thread-safe.
class Terminations {
 public:
  /// `seq` must outlive this object (the run's RunConfig::termseq).
  explicit Terminations(const std::vector<TermStep>& seq) : seq_(seq) {}

  /// Starts ending process group `pgid`; nothing when it is already being ended or the sequence
  /// is empty. `kill_now`: SIGKILL at once instead, and no sequence (a second Ctrl-C).
  void start(int pgid, bool kill_now = false);

  /// True while `pgid`'s sequence runs.
  bool contains(int pgid) const;

  /// Takes every step that is due at `now` (monotonic seconds). `ended(pgid)` is called for each
  /// group whose sequence is over (the group is gone, or was sent SIGKILL), which is then forgotten.
  void advance(double now, const std::function<void(int pgid)>& ended);

  /// The monotonic time (seconds) of the earliest due step, or 0 when no group is being ended.
  double next_due() const;

  /// SIGKILL to every group still being ended that is still alive (the end of a run, a second
  /// signal): nothing may outlive poolrun.
  void kill_all() const;

 private:
  struct Entry {
    int pgid;
    std::size_t step;  ///< index in seq_ of the signal last sent
    double next;       ///< monotonic time of the next step
  };
  const std::vector<TermStep>& seq_;
  std::vector<Entry> entries_;
};

}  // namespace poolrun::core
