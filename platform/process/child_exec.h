// Internal to platform/: the fork-then-exec path shared by the "fork" launcher and the forkserver.
//
// Everything here runs either in a forked child of a possibly multi-threaded process or in the
// allocation-free forkserver, so it is written against one rule (CPython's _posixsubprocess.c has
// the same): between fork and exec the child calls only async-signal-safe functions. No malloc,
// no std::string, no logging, no exceptions, no locks. The caller prepares every byte the child
// needs (the char* arrays, the path, the fd plan) before forking.
//
// Functions the child path calls: setpgid, rt_sigaction (raw syscall), sigemptyset, sigprocmask, fcntl, dup2,
// close, close_range (raw syscall), chdir, execve, write, _exit. All are async-signal-safe.
#pragma once
#include <sys/types.h>

#include <vector>

#include "platform/process/launcher.h"

namespace poolrun::platform::detail {

/// Sets every signal except SIGKILL and SIGSTOP to SIG_DFL, glibc's reserved ones (32, 33) included.
/// Async-signal-safe (raw rt_sigaction).
void reset_signal_dispositions() noexcept;

/// The signals a child of this process must set back to SIG_DFL before execve: every signal whose
/// disposition is not SIG_DFL right now (ignored, like SIGPIPE or a nohup'd SIGHUP, or caught),
/// plus SIGPIPE, which poolrun ignores once its event loop exists. Sorted; SIGKILL and SIGSTOP
/// never appear. Costs one sigaction() query per signal: call it once, when a launcher is made;
/// poolrun changes no other disposition later. Not for the child path (it allocates).
std::vector<int> signals_to_reset();

/// Marks a stdio slot the child must close (its parent had that fd closed).
inline constexpr int kCloseFd = -2;

/// Everything the child needs, built by the parent before fork. Pointers must stay valid until
/// fork_exec() returns; nothing is copied.
struct ChildPlan {
  const char* path = nullptr;    ///< passed to execve unchanged (no PATH search)
  char* const* argv = nullptr;   ///< NULL-terminated
  char* const* envp = nullptr;   ///< NULL-terminated
  const char* cwd = nullptr;     ///< chdir here first; nullptr keeps the parent's
  /// Source fd for the child's 0, 1, 2: an fd to dup there, -1 to keep the parent's own fd at that
  /// number, or kCloseFd to close it. A source may itself sit in 0..2 (even another slot's target).
  int stdio[3] = {-1, -1, -1};
  /// The signals to set to SIG_DFL in the child (see signals_to_reset()): `reset_count` numbers at
  /// `reset_signals`. A reset costs a system call in the child, while the parent waits, so only
  /// those whose disposition is not already SIG_DFL are listed. reset_count < 0 resets all.
  const int* reset_signals = nullptr;
  int reset_count = -1;
  /// When set, the child runs this function after the stdio plan and the empty mask instead of
  /// execve (poolrun's built-in worker, platform/bench/worker.h); it must not return. Only for a
  /// real fork (fork_exec), never vfork_exec: the function runs in the child's own copy of memory.
  /// The parent's answer is then "started" as soon as the child has set up (the error pipe is
  /// closed before the function runs).
  void (*run_instead)() noexcept = nullptr;
};

/// What fork_exec() did: a pid (the child has exec'd), or the failed stage and its errno (the
/// child, if one was created, has been reaped already).
struct ForkExecResult {
  pid_t pid = -1;
  LaunchStage stage = LaunchStage::None;  ///< which step failed (platform/process/launcher.h)
  int error = 0;                          ///< its errno value
};

/// Forks, runs the child path, and waits until the child has exec'd or failed: an exec failure
/// comes back through a close-on-exec pipe as (stage, errno), EOF on that pipe means exec worked.
/// The child leads a new process group, has every signal at its default disposition and an empty
/// mask, and fds 0..2 arranged by the plan; every other fd is made close-on-exec before exec.
///
/// Async-signal-safe itself (no allocation), so the allocation-free forkserver can use it. All
/// signals are blocked in the calling thread around fork so no handler of the parent runs in the
/// child; the caller's mask is restored before returning. Does not throw.
ForkExecResult fork_exec(const ChildPlan& plan) noexcept;

/// fork_exec() without copying the caller's page tables: the child is started with
/// clone(CLONE_VM | CLONE_VFORK), as glibc's posix_spawn does, and runs the same child path on
/// `stack` (at least 64 KiB, owned by the caller, used by one call at a time) while the caller is
/// suspended until it execs or exits. Its cost does not grow with the caller's memory.
ForkExecResult vfork_exec(const ChildPlan& plan, void* stack, size_t stack_size) noexcept;

}  // namespace poolrun::platform::detail
