// Ending process groups with a termination sequence (GNU parallel's --termseq), shared by the
// engine and the --map worker pool.
#pragma once
#include <cstddef>
#include <functional>
#include <vector>

#include "core/run/config.h"

namespace poolrun::core {

/// The process groups being ended. Each gets the sequence's first signal at once, then, whenever
/// its step's wait (TermStep::wait_ms) is over and the group still has a process in it (the
/// leader or any descendant that stayed in the group: GNU parallel's --termseq), the next signal;
/// a group still alive after the last step gets SIGKILL, so ending never hangs. The sequence does
/// not stop when the group's leader exits: it runs against the group until the group is empty.
///
/// Process group ids are pids, and the kernel may hand a pid out again once nothing uses it. A
/// group id stays reserved while its leader is unreaped (a zombie still holds its pid) and, once
/// the leader is reaped, while any process remains in the group. So a group is signalled only
/// while one of these is known: the caller vouches that the leader is not reaped yet (start()),
/// or the leader's reaping was reported (reaped()) and the group has been seen non-empty since,
/// every kPollS seconds. The moment it is seen empty its id may belong to someone else: it is
/// never signalled again. Not thread-safe.
class Terminations {
 public:
  /// Seconds between looks at a group whose leader was reaped (see reaped()).
  static constexpr double kPollS = 0.025;
  /// A reaped group not looked at for this long (the event loop was held up, e.g. by a blocked
  /// write) is no longer vouched for and is let go unsignalled. Far below the time the pid space
  /// (pid_max, 32768 at least) takes to wrap even while poolrun itself starts thousands of jobs
  /// a second.
  static constexpr double kTrustS = 1.0;

  /// `seq` must outlive this object (the run's RunConfig::termseq).
  explicit Terminations(const std::vector<TermStep>& seq) : seq_(seq) {}

  /// Starts ending process group `pgid`; nothing when it is already being ended or the sequence
  /// is empty. `kill_now`: SIGKILL at once instead, and no sequence (a second Ctrl-C).
  /// The caller guarantees that `pgid`'s leader is not reaped yet, or that its reaping was
  /// reported with reaped(): then nothing is sent once the group has been seen empty.
  void start(int pgid, bool kill_now = false);

  /// The leader of `pgid` was just reaped (by the caller, moments ago). A group being ended goes
  /// on being ended, looked at every kPollS. Any other group is followed the same way, without
  /// signals, so that a later start() (descendants that keep the job's output open) still knows
  /// whether the id is the job's, until forget(). Call forget() when the job is done with.
  void reaped(int pgid);

  /// The caller is done with `pgid` (its job finished): a followed group is let go (left alone,
  /// as GNU parallel leaves a finished job's background processes); a sequence still running
  /// goes on to its end.
  void forget(int pgid);

  /// True while `pgid`'s sequence runs.
  bool contains(int pgid) const;

  /// True while any sequence runs (the run waits for them before it exits: at most the sum of
  /// the sequence's waits after the last start()).
  bool ending() const;

  /// Takes every step and every look that is due at `now` (monotonic seconds). `ended(pgid)` is
  /// called for each group whose sequence is over (the group is gone, or was sent SIGKILL after
  /// the last step).
  void advance(double now, const std::function<void(int pgid)>& ended);

  /// The monotonic time (seconds) of the earliest due step or look, or 0 when there is none.
  double next_due() const;

  /// SIGKILL to every group being ended that is still alive, and their sequences are over
  /// (`ended` is called for each): the end of a run, a second signal. Nothing may outlive poolrun.
  void kill_all(const std::function<void(int pgid)>& ended);

 private:
  enum class State {
    Ending,     ///< the sequence runs
    Following,  ///< reaped leader, no sequence: looked at until forget() or found empty
    Gone,       ///< reaped leader, group seen empty (or no longer vouched for): never signalled
  };
  struct Entry {
    int pgid;
    State state;
    bool reaped;       ///< the leader was reaped: looked at every kPollS
    bool kept;         ///< the caller has not called forget() since reaped()
    std::size_t step;  ///< Ending: index in seq_ of the signal last sent
    double next;       ///< Ending: monotonic time of the next step
    double check;      ///< reaped: monotonic time of the next look
    double seen;       ///< reaped: when the group was last seen non-empty
  };
  Entry* find(int pgid);
  /// The sequence of `entries_[i]` is over: tell `ended`, keep a Gone mark while the caller may
  /// still start() it, else drop it. Returns whether the entry was erased.
  bool end_sequence(std::size_t i, const std::function<void(int)>& ended);
  const std::vector<TermStep>& seq_;
  std::vector<Entry> entries_;
};

}  // namespace poolrun::core
