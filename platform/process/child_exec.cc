#include "platform/process/child_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sched.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

#if defined(__SANITIZE_ADDRESS__)
#define POOLRUN_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOLRUN_ASAN 1
#endif
#endif
#ifdef POOLRUN_ASAN
#include <sanitizer/asan_interface.h>
#endif

// The child path is not instrumented by AddressSanitizer. In a vfork child it runs on a borrowed
// stack in memory shared with the parent, where ASan's frame poisoning would outlive the child (it
// never returns) and its no-return hook inspects "the thread's" stack, which is the parent's.
#define POOLRUN_CHILD_PATH __attribute__((no_sanitize_address))

namespace poolrun::platform::detail {
namespace {

/// fork() runs the pthread_atfork handlers and, in glibc, takes every malloc arena lock so the child
/// may allocate; a child that only execs needs neither, and waiting for those locks while other
/// threads allocate is exactly what we want to avoid. glibc >= 2.34 offers _Fork(), the
/// async-signal-safe fork without handlers (POSIX.1-2024).
pid_t plain_fork() noexcept {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
  return ::_Fork();
#else
  return ::fork();
#endif
}

/// Where a child reports a failure to start: a close-on-exec pipe (fork: the parent sees these 8
/// bytes or EOF once exec succeeded; a pipe write of <= PIPE_BUF bytes is atomic), or, for a
/// vfork-style child, memory it shares with its suspended parent (as glibc's posix_spawn does): the
/// parent resumes only when the child has exec'd or exited, so it reads a settled value, and no
/// pipe is needed.
struct ChildSink {
  int fd = -1;
  int* shared = nullptr;  ///< {stage, errno}; {0, 0} while nothing failed
};

/// Reports (stage, errno) to the parent and exits with 127.
[[noreturn]] POOLRUN_CHILD_PATH void child_fail(const ChildSink& sink, LaunchStage stage_enum, int err) noexcept {
  const int stage = static_cast<int>(stage_enum);
  const int msg[2] = {stage, err};
  if (sink.shared != nullptr) {
    sink.shared[0] = stage;
    sink.shared[1] = err;
  } else {
    ssize_t n;
    do {
      n = ::write(sink.fd, msg, sizeof msg);
    } while (n < 0 && errno == EINTR);
  }
  ::_exit(127);
}

/// dup2 that survives EINTR (possible on Linux when the target is being closed concurrently).
POOLRUN_CHILD_PATH int dup2_retry(int src, int dst) noexcept {
  int rc;
  do {
    rc = ::dup2(src, dst);
  } while (rc < 0 && errno == EINTR);
  return rc;
}

/// The child between fork and exec. Only async-signal-safe calls (see child_exec.h). Runs with
/// every signal blocked (the parent blocked them before forking).
[[noreturn]] POOLRUN_CHILD_PATH void child_path(const ChildPlan& plan, const ChildSink& err_fd) noexcept {
  // 1. Own process group, so the engine can signal the job and its descendants as one; the parent
  //    makes the same call to close the race with an early kill(-pid).
  if (::setpgid(0, 0) != 0) child_fail(err_fd, LaunchStage::Setpgid, errno);

  // 2. Every signal back to SIG_DFL. A caught signal is reset by execve anyway, but its handler
  //    could run here once the mask is emptied; an ignored one (SIGPIPE!) would survive execve.
  if (plan.reset_count < 0) {
    reset_signal_dispositions();
  } else {
    alignas(8) static const unsigned char kDefault[64] = {};
    for (int i = 0; i < plan.reset_count; ++i)
      ::syscall(SYS_rt_sigaction, plan.reset_signals[i], kDefault, nullptr,
                static_cast<size_t>((NSIG - 1) / 8));
  }

  // 3. The stdio plan. A source that sits in 0..2 but is not its own target would be overwritten
  //    by an earlier dup2 (e.g. stdin from fd 1 and stdout from fd 0), so such sources are first
  //    moved above 2; every slot naming the same fd follows it.
  int src[3] = {plan.stdio[0], plan.stdio[1], plan.stdio[2]};
  for (int t = 0; t < 3; ++t) {
    if (src[t] >= 0 && src[t] < 3 && src[t] != t) {
      const int old = src[t];
      const int moved = ::fcntl(old, F_DUPFD_CLOEXEC, 3);
      if (moved < 0) child_fail(err_fd, LaunchStage::Dup2, errno);
      for (int u = 0; u < 3; ++u)
        if (src[u] == old) src[u] = moved;
    }
  }
  for (int t = 0; t < 3; ++t) {
    if (src[t] == t) {
      // dup2(fd, fd) is a no-op that leaves close-on-exec set: clear it by hand.
      int fl = ::fcntl(t, F_GETFD);
      if (fl < 0 || ((fl & FD_CLOEXEC) && ::fcntl(t, F_SETFD, fl & ~FD_CLOEXEC) != 0))
        child_fail(err_fd, LaunchStage::Dup2, errno);
    } else if (src[t] >= 0) {
      if (dup2_retry(src[t], t) < 0) child_fail(err_fd, LaunchStage::Dup2, errno);
    } else if (src[t] == kCloseFd) {
      ::close(t);
    }
  }
  // Defence in depth: only 0, 1, 2 may reach the job even if some library left an fd inheritable.
  // CLOSE_RANGE_CLOEXEC (Linux >= 5.11) keeps the error pipe usable until execve. On older kernels
  // this fails and we rely on every fd of poolrun being close-on-exec from birth.
  ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);

  // 4. Working directory (after the fd plan, so a relative cwd cannot disturb it).
  if (plan.cwd != nullptr && ::chdir(plan.cwd) != 0) child_fail(err_fd, LaunchStage::Chdir, errno);

  // 5. Empty mask last: from here a signal has only its default effect on the child.
  sigset_t empty;
  sigemptyset(&empty);
  if (::sigprocmask(SIG_SETMASK, &empty, nullptr) != 0) child_fail(err_fd, LaunchStage::Sigmask, errno);

  if (plan.run_instead != nullptr) {
    // Nothing of the parent's beyond 0..2 may stay open in a worker: another worker's task pipe
    // held here would never see EOF. Closing the error pipe tells the parent: started.
    if (::syscall(SYS_close_range, 3U, ~0U, 0U) != 0) {
      for (int fd = 3; fd < 65536; ++fd) ::close(fd);
    }
    plan.run_instead();
    ::_exit(127);  // not reached: run_instead does not return
  }
  ::execve(plan.path, plan.argv, plan.envp);
  child_fail(err_fd, LaunchStage::Exec, errno);
}

void close_keep_errno(int fd) noexcept {
  int saved = errno;
  ::close(fd);
  errno = saved;
}

}  // namespace

POOLRUN_CHILD_PATH void reset_signal_dispositions() noexcept {
  // The raw system call, not sigaction(): glibc refuses its two reserved signals (32 and 33) with
  // EINVAL, and an ignored one survives execve like any other (glibc's own posix_spawn leaves them
  // ignored in every child it starts). A zeroed kernel sigaction is {SIG_DFL, no flags, no
  // restorer, empty mask} whatever the architecture's field order, so no struct is needed; the
  // last argument is the size of the kernel's sigset (64 signals, 128 on MIPS).
  alignas(8) static const unsigned char kDefault[64] = {};
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    ::syscall(SYS_rt_sigaction, sig, kDefault, nullptr, static_cast<size_t>((NSIG - 1) / 8));
  }
}

std::vector<int> signals_to_reset() {
  std::vector<int> out;
  alignas(8) unsigned char old[64];
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    // The raw call, as above: it also reads glibc's reserved signals. The handler is the first
    // field of the kernel's sigaction on every architecture poolrun builds for.
    if (::syscall(SYS_rt_sigaction, sig, nullptr, old, static_cast<size_t>((NSIG - 1) / 8)) != 0)
      continue;
    void* handler;
    memcpy(&handler, old, sizeof handler);
    if (handler != reinterpret_cast<void*>(SIG_DFL) || sig == SIGPIPE) out.push_back(sig);
  }
  return out;
}

namespace {

struct CloneArgs {
  const ChildPlan* plan;
  int failure[2];  ///< written by the child if it cannot exec: {stage, errno}
};

POOLRUN_CHILD_PATH int clone_entry(void* p) {
  auto* a = static_cast<CloneArgs*>(p);
  ChildSink sink;
  sink.shared = a->failure;
  child_path(*a->plan, sink);
}

/// clone(CLONE_VM | CLONE_VFORK) on `stack`: the child runs in our memory while we are suspended,
/// until it execs or exits, and reports a failure through that memory.
ForkExecResult start_vfork_child(const ChildPlan& plan, void* stack, size_t stack_size) noexcept {
  ForkExecResult res;
  // Block every signal so no handler of the parent ever runs in the child; the child resets the
  // dispositions and only then empties its mask.
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  // The child's signal handlers, fds, cwd and mask are its own (no CLONE_SIGHAND/FILES/FS), so the
  // child path changes nothing of ours; it writes only its own stack, args.failure (and errno,
  // read by nobody).
  CloneArgs args = {&plan, {0, 0}};
#ifdef POOLRUN_ASAN
  __asan_unpoison_memory_region(stack, stack_size);  // whatever an earlier child left there
#endif
  char* top = static_cast<char*>(stack) + stack_size;
  top -= reinterpret_cast<uintptr_t>(top) % 16;
  const pid_t pid = ::clone(clone_entry, top, CLONE_VM | CLONE_VFORK | SIGCHLD, &args);
  const int fork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (pid < 0) {
    res.stage = LaunchStage::Fork;
    res.error = fork_errno;
    return res;
  }
  // The child made its process group itself before exec, and we resumed only after that.
  const int stage = __atomic_load_n(&args.failure[0], __ATOMIC_ACQUIRE);
  if (stage != static_cast<int>(LaunchStage::None)) {
    // It failed and is exiting with 127: reap it here, so it is never reported by collect().
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    res.stage = static_cast<LaunchStage>(stage);
    res.error = __atomic_load_n(&args.failure[1], __ATOMIC_ACQUIRE);
    return res;
  }
  res.pid = pid;
  return res;
}

/// fork, then the child path; a failure comes back through a close-on-exec pipe.
ForkExecResult start_fork_child(const ChildPlan& plan) noexcept {
  ForkExecResult res;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    res.stage = LaunchStage::Pipe;
    res.error = errno;
    return res;
  }
  // Keep the child's end out of 0..2, where the stdio plan would overwrite it (only possible when
  // the parent runs with some of 0..2 closed).
  if (fds[1] < 3) {
    int high = ::fcntl(fds[1], F_DUPFD_CLOEXEC, 3);
    if (high < 0) {
      res.stage = LaunchStage::Pipe;
      res.error = errno;
      close_keep_errno(fds[0]);
      close_keep_errno(fds[1]);
      return res;
    }
    ::close(fds[1]);
    fds[1] = high;
  }

  // Block every signal so no handler of the parent ever runs in the child; the child resets the
  // dispositions and only then empties its mask.
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  const pid_t pid = plain_fork();
  if (pid == 0) {
    ChildSink sink;
    sink.fd = fds[1];
    child_path(plan, sink);
  }
  const int fork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::close(fds[1]);
  if (pid < 0) {
    ::close(fds[0]);
    res.stage = LaunchStage::Fork;
    res.error = fork_errno;
    return res;
  }
  // Same call as the child's: whichever runs first, the group exists before anyone can signal it.
  // Fails harmlessly (EACCES) once the child has exec'd.
  ::setpgid(pid, pid);

  int msg[2] = {0, 0};
  ssize_t n;
  do {
    n = ::read(fds[0], msg, sizeof msg);
  } while (n < 0 && errno == EINTR);
  ::close(fds[0]);
  if (n == static_cast<ssize_t>(sizeof msg)) {
    // The child failed before or at execve and is exiting with 127: reap it here, so it is never
    // reported by collect() (the caller learns the failure from the result instead).
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    res.stage = static_cast<LaunchStage>(msg[0]);
    res.error = msg[1];
    return res;
  }
  // EOF: execve succeeded (the pipe closed on exec). A short read cannot happen (the write is
  // atomic); a read error leaves us not knowing, and then the child's exit status will tell.
  res.pid = pid;
  return res;
}

}  // namespace

ForkExecResult fork_exec(const ChildPlan& plan) noexcept { return start_fork_child(plan); }

ForkExecResult vfork_exec(const ChildPlan& plan, void* stack, size_t stack_size) noexcept {
  return start_vfork_child(plan, stack, stack_size);
}

}  // namespace poolrun::platform::detail
