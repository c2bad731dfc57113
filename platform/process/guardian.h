// The guardian: a small process that ends poolrun's running jobs if poolrun itself dies.
#pragma once
#include <cstddef>
#include <cstdint>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "platform/fd.h"

namespace poolrun::platform {

/// poolrun's jobs run in process groups of their own, so a SIGKILL of poolrun does not reach them,
/// and posix_spawn cannot set PR_SET_PDEATHSIG. The guardian is a forked copy of poolrun in a
/// process group of its own with fds 0, 1, 2 on /dev/null. It learns which process groups are
/// running from a table in memory shared with poolrun (an anonymous MAP_SHARED mapping made before
/// the fork, kTableSlots entries): poolrun stores a group's id when the job starts and clears it when
/// the group has ended, so a job costs no system call and no context switch. Only when the table is
/// full do messages go over the pipe instead (4 bytes each, read in batches at most every 100 ms).
/// The pipe also tells the guardian poolrun's fate: when it reaches EOF without a clean goodbye
/// (poolrun was killed), the guardian sends SIGTERM to every group in the table and in its messages,
/// waits up to 500 ms, then SIGKILL, and exits.
///
/// A job's pid is known only when its launch returns; the job being started when poolrun dies is
/// found in /proc instead (see launching()).
///
/// Use: start() before the first job (poolrun must not have threads then), watch()/unwatch() as
/// jobs start and end. Messages written between prepare() and start() wait in the pipe.
class Guardian {
 public:
  /// `table_slots`: entries of the shared table (tests make it small to exercise the pipe).
  explicit Guardian(std::size_t table_slots = kTableSlots) : slots_(table_slots) {}
  Guardian(const Guardian&) = delete;
  Guardian& operator=(const Guardian&) = delete;
  ~Guardian();  ///< says goodbye (the guardian exits without killing anything)

  /// Creates the pipe. Returns an errno error code on failure (poolrun then runs without one).
  std::error_code prepare();

  /// Forks the guardian (once; later calls do nothing). Returns an errno error code on failure
  /// (poolrun then runs without one). Calls prepare() itself if needed. `jobs_are_children`: the
  /// launcher's jobs are poolrun's own children (spawn, fork), so launching() means something; with
  /// the forkserver (whose server is itself a young child of poolrun) launching() does nothing.
  std::error_code start(bool jobs_are_children = true);

  /// Tells the guardian that process group `pgid` runs / has ended. No-ops without a pipe.
  void watch(int pgid);
  void unwatch(int pgid);

  /// Around a launch whose children are poolrun's own (spawn, fork): the new job's pid is known only
  /// when the launch returns, so if poolrun dies in between (the likeliest instant under a kill -9
  /// of a busy run: spawn waits there for the exec), the guardian looks for that job in /proc — a
  /// process leading its own group in poolrun's session, a child of poolrun (or of whoever adopted
  /// its children), started since launching() — and ends its group too. launched() after watch().
  void launching();
  void launched();

  /// Entries of the shared table (4 bytes each; pages are touched only as groups need them).
  static constexpr std::size_t kTableSlots = 16384;

  /// True once start() forked the guardian.
  bool started() const { return pid_ > 0; }

  /// The guardian's pid (for tests), or -1.
  int pid() const { return pid_; }

 private:
  void send(int value);
  UniqueFd pipe_;   ///< write end
  UniqueFd rpipe_;  ///< read end, until the guardian has it
  int pid_ = -1;
  std::size_t slots_;                             ///< entries in table_
  bool find_launching_ = true;                    ///< see start()
  void* shared_ = nullptr;                        ///< the mapping shared with the guardian
  int* table_ = nullptr;                          ///< in it: groups; 0 = free entry
  std::vector<std::uint32_t> free_;               ///< free table entries (poolrun's side)
  std::size_t used_ = 0;                          ///< entries ever handed out (the rest are free)
  std::unordered_map<int, std::uint32_t> where_;  ///< pgid -> its table entry
};

}  // namespace poolrun::platform
