// Start method "forkserver": a small single-threaded server process, forked once when the launcher
// is made (before poolrun has threads or a large heap), starts every job. A launch never copies
// poolrun, and the server never shares poolrun's threads or locks. (The idea is CPython's
// multiprocessing.forkserver; ours uses a socketpair, so no other process can reach the server by a
// path.)
//
// How the server starts a job: the child path of platform/process/child_exec.h, entered through
// clone(CLONE_VM | CLONE_VFORK) (vfork_exec) rather than fork. Even a small server pays for fork:
// on our 2-CPU test VM fork+_exit of a tiny process costs ~600 us against ~90 us for vfork, which
// made forkserver ~40% slower than posix_spawn for `true`; the target is 10%. vfork is safe
// here because the server is single-threaded and the child path touches nothing shared. Jobs that
// must run code in the server's image (the worker pools of later issues) will need the real fork:
// kServerUsesVfork = false gives it.
//
// ## Protocol
// One SOCK_STREAM socketpair, both ends close-on-exec. Integers are native-endian (both sides are
// the same binary).
//
// poolrun -> server, one launch request at a time (poolrun waits for the answer before the next):
//   RequestHeader {magic, fd_flags, argc, envc, body_len}, then body_len bytes of body:
//     path NUL, cwd NUL (empty: the server's cwd, which is poolrun's at start-up),
//     argc strings each NUL-terminated (argv), envc strings each NUL-terminated (envp).
//   The job's stdio fds travel as SCM_RIGHTS on the same sendmsg as the header's first bytes, in
//   slot order; fd_flags bit t (t = 0..2) says slot t's fd is among them, bit 4+t says the child
//   must have fd t closed. poolrun always sends either an fd or "closed" for each slot: "inherit"
//   (-1 in LaunchRequest) is resolved on poolrun's side to poolrun's own fd t, so the job gets what
//   it would get from spawn even though the server's own 0..2 are /dev/null. The environment is
//   always sent in full (poolrun's current environ for "inherit"), for the same reason.
//   The server receives with MSG_CMSG_CLOEXEC, so passed fds never leak into later jobs.
//   Request kind "start a built-in worker" (`poolrun bench`'s process executor): fd_flags bit
//   kWorker, path, cwd, argv and envp empty, slots 0 and 1 the worker's task and result pipes. The
//   server then forks for real (the worker runs code in the server's image, a copy of poolrun made
//   at start-up, so vfork cannot serve) and the child runs run_builtin_worker() on 0 and 1.
//
// server -> poolrun, fixed-size Report records (40 bytes) on the same socket:
//   kLaunched {pid}                — the answer to a request: exec succeeded;
//   kFailed   {stage, errno}       — the answer to a request: the child failed (and was reaped);
//   kExited   {pid, wait status, utime_us, stime_us, maxrss_kib} — a launched job ended.
//   A job's kExited always follows its kLaunched. Exit reports may arrive at any time, so poolrun
//   queues those it reads while waiting for an answer.
//
// End: when poolrun's end closes (normal destruction, a crash, or kill -9), the server reads EOF
// (or EPIPE when writing), SIGKILLs the process group of every job still running, reaps them for
// at most ~2 s, and exits. Nothing else stops it: it leads its own process group, so the terminal's
// Ctrl-C goes to poolrun, which ends the jobs itself.
//
// ## Waking the engine
// launch() must read everything before its answer, so it may take exit reports off the socket and
// queue them; the socket is then no longer readable although reports wait. event_fd() is therefore
// an epoll fd watching the socket and an eventfd that launch() signals when it queued reports:
// readable exactly when collect() has something to do. When the server is gone, the socket (stuck
// at EOF) leaves that set.
//
// ## Deadlock freedom
// The server writes reports with blocking sends; poolrun never blocks on the socket without also
// draining reports (its end is non-blocking, and launch() polls for POLLIN|POLLOUT while sending).
// So the server can always finish a send, and poolrun can always finish a request.
//
// ## Gotchas
// - The server tracks a job until it reaps the job's leader. Processes the job left behind in its
//   group after that (`cmd &`) are not killed when poolrun dies; the engine's own termination
//   handles them while poolrun lives.
// - Between the server reaping a job and poolrun reading the report, poolrun may still signal the
//   job's group (kill(-pgid)): a pid-reuse window that spawn and fork, which reap in poolrun, lack.
// - If the server itself dies, jobs it started are reported as killed by SIGKILL (their real status
//   is unknowable); they keep running, orphaned. Later launches fail with EPIPE, stage "forkserver".
// - An empty cwd means the server's cwd, i.e. poolrun's when the launcher was made.
//
// ## The server is allocation-free
// It is a fork of poolrun (or of a test binary) that may already have threads, whose locks (malloc,
// spdlog, ...) could be held by threads that do not exist in the fork. So the server's code, like
// the child path, uses only system calls: buffers come from mmap/mremap, nothing from malloc, no
// C++ library calls that allocate, no logging, no exceptions, and it ends with _exit().
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "platform/bench_worker.h"
#include "platform/process/child_exec.h"
#include "platform/fd.h"
#include "platform/process/start_methods.h"
#include "platform/process/wait.h"

extern char** environ;

namespace poolrun::platform {
namespace {

// ---------------------------------------------------------------------------------------------
// Wire format

constexpr uint32_t kRequestMagic = 0x50524653;  // "PRFS"
constexpr uint32_t kFdPassed = 1u;              // << slot
constexpr uint32_t kFdClosed = 1u << 4;         // << slot
constexpr uint32_t kWorker = 1u << 8;           // start poolrun's built-in worker, not a command
/// Upper bound on one request's body: far above any argv + envp execve accepts, low enough that
/// a corrupted length cannot make the server map absurd amounts of memory.
constexpr uint64_t kMaxBody = uint64_t{1} << 30;
/// See the file comment: how the server starts a job.
constexpr bool kServerUsesVfork = true;
/// The vfork child's stack (the child path needs a few KiB; sanitizers need more).
constexpr size_t kChildStackSize = size_t{256} << 10;

struct RequestHeader {
  uint32_t magic;
  uint32_t fd_flags;
  uint32_t argc;
  uint32_t envc;
  uint64_t body_len;
};
static_assert(sizeof(RequestHeader) == 24);

enum ReportKind : uint32_t { kLaunched = 1, kFailed = 2, kExited = 3 };

struct Report {
  uint32_t kind;
  int32_t pid;
  int32_t status;  ///< kExited: wait status; kFailed: errno
  int32_t stage;   ///< kFailed: detail::ChildStage
  int64_t utime_us;
  int64_t stime_us;
  int64_t maxrss_kib;
};
static_assert(sizeof(Report) == 40);

// ---------------------------------------------------------------------------------------------
// The server (runs in the forked process; system calls only, see the file comment)

/// A growable buffer on mmap/mremap.
struct MapBuf {
  char* p = nullptr;
  size_t cap = 0;

  bool reserve(size_t n) noexcept {
    if (n <= cap) return true;
    size_t want = cap ? cap * 2 : size_t{64} << 10;
    while (want < n) want *= 2;
    void* q = p ? ::mremap(p, cap, want, MREMAP_MAYMOVE)
                : ::mmap(nullptr, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (q == MAP_FAILED) return false;
    p = static_cast<char*>(q);
    cap = want;
    return true;
  }
};

class Server {
 public:
  explicit Server(int sock) : sock_(sock) {}
  [[noreturn]] void run() noexcept;

 private:
  void setup() noexcept;
  /// Handles one request. Returns false when the channel is finished (EOF, error, bad protocol).
  bool serve_request() noexcept;
  /// Reads a request's header and fds, and the part of its body that came with them (`body_got`
  /// bytes at body_.p). Returns false at EOF or on an error (the fds are then closed).
  bool read_header(RequestHeader& h, int fds[3], int& nfds, size_t& body_got) noexcept;
  bool read_full(char* buf, size_t n) noexcept;
  /// Queues a report; sends the queue when it is full. Returns false if a send failed.
  bool queue(const Report& r) noexcept;
  /// Sends the queued reports in one write (one wake-up for poolrun). Returns false on failure.
  bool flush() noexcept;
  /// Reaps every ended child; queues their reports when `report`. Returns false if a send failed.
  bool reap(bool report) noexcept;
  void track(pid_t pid) noexcept;
  void untrack(pid_t pid) noexcept;
  [[noreturn]] void shutdown() noexcept;

  int sock_;
  int sigfd_ = -1;
  void* child_stack_ = nullptr;  ///< for vfork_exec, mmap'd once
  MapBuf body_;
  MapBuf ptrs_;
  MapBuf kids_;  ///< pid_t array of launched, unreaped children
  size_t nkids_ = 0;
  Report out_[64];
  size_t nout_ = 0;
};

void close_all_fds_except(int keep) noexcept {
  if (keep > 3) ::syscall(SYS_close_range, 3U, static_cast<unsigned>(keep - 1), 0U);
  if (::syscall(SYS_close_range, static_cast<unsigned>(keep + 1), ~0U, 0U) == 0) return;
  // Kernels before 5.9: close by number, up to the fd limit.
  struct rlimit rl;
  long max = 65536;
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
      rl.rlim_cur < static_cast<rlim_t>(max))
    max = static_cast<long>(rl.rlim_cur);
  for (long fd = 3; fd < max; ++fd)
    if (fd != keep) ::close(static_cast<int>(fd));
}

void Server::setup() noexcept {
  // Signals first. Every signal blocked (the parent blocked them before forking), every
  // disposition back to default: the server inherits poolrun's or a test's handlers otherwise.
  detail::reset_signal_dispositions();

  // Own process group: signals from the terminal go to poolrun, which ends its jobs itself; the
  // server must stay to report their exits.
  ::setpgid(0, 0);
  ::prctl(PR_SET_NAME, "poolrun-fsrv", 0, 0, 0);

  // fds: keep only the socket (moved above 2 first), and put /dev/null on 0..2 so the server holds
  // none of poolrun's stdio open (a reader of poolrun's stdout must see EOF when poolrun exits).
  if (sock_ < 3) {
    int high = ::fcntl(sock_, F_DUPFD_CLOEXEC, 3);
    if (high < 0) ::_exit(1);
    ::close(sock_);
    sock_ = high;
  }
  close_all_fds_except(sock_);
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd >= 0) {
    for (int t = 0; t < 3; ++t)
      if (null_fd != t) ::dup2(null_fd, t);
    if (null_fd > 2) ::close(null_fd);
  }

  // SIGCHLD through a signalfd: it stays blocked, and poll() wakes on it. Jobs get an empty mask
  // from the child path.
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigfd_ = ::signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sigfd_ < 0) ::_exit(1);
  ::sigprocmask(SIG_SETMASK, &chld, nullptr);

  // The first request's body then arrives with its header (see read_header).
  body_.reserve(1);

  if (kServerUsesVfork) {
    void* st = ::mmap(nullptr, kChildStackSize, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    // Without a stack, fall back to fork: slower, equally correct.
    if (st != MAP_FAILED) child_stack_ = st;
  }
}

void Server::run() noexcept {
  setup();
  for (;;) {
    struct pollfd pfd[2] = {{sock_, POLLIN, 0}, {sigfd_, POLLIN, 0}};
    int n = ::poll(pfd, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      shutdown();
    }
    if (pfd[1].revents & POLLIN) {
      if (!reap(true) || !flush()) shutdown();
    }
    if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      if (!serve_request()) shutdown();
    }
  }
}

bool Server::read_full(char* buf, size_t n) noexcept {
  while (n > 0) {
    ssize_t got = ::read(sock_, buf, n);
    if (got < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    if (got == 0) return false;
    buf += got;
    n -= static_cast<size_t>(got);
  }
  return true;
}

bool Server::read_header(RequestHeader& h, int fds[3], int& nfds, size_t& body_got) noexcept {
  // One recvmsg normally takes the whole request: the header (with the fds) into `h`, the body
  // poolrun sent with it into body_. Only one request is ever in flight (poolrun waits for each
  // answer), so nothing beyond this request can arrive with it.
  char* dst = reinterpret_cast<char*>(&h);
  size_t got = 0;
  nfds = 0;
  body_got = 0;
  bool bad = false;
  while (got < sizeof h) {
    struct iovec iov[2] = {{dst + got, sizeof h - got}, {body_.p, body_.cap}};
    alignas(struct cmsghdr) char cbuf[CMSG_SPACE(sizeof(int) * 3)];
    struct msghdr msg = {};
    msg.msg_iov = iov;
    msg.msg_iovlen = body_.cap > 0 ? 2 : 1;
    msg.msg_control = cbuf;
    msg.msg_controllen = sizeof cbuf;
    ssize_t n = ::recvmsg(sock_, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0) {
      if (errno == EINTR) continue;
      bad = true;
      break;
    }
    if (n == 0) {
      bad = true;  // EOF: poolrun is gone
      break;
    }
    for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int fd;
        memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        if (nfds < 3)
          fds[nfds++] = fd;
        else
          ::close(fd);  // more than the protocol allows: drop it
      }
    }
    if (msg.msg_flags & MSG_CTRUNC) bad = true;
    const size_t head = std::min(static_cast<size_t>(n), sizeof h - got);
    got += head;
    body_got = static_cast<size_t>(n) - head;  // non-zero only once the header is complete
  }
  if (bad) {
    for (int i = 0; i < nfds; ++i) ::close(fds[i]);
    nfds = 0;
    return false;
  }
  return true;
}

bool Server::queue(const Report& r) noexcept {
  out_[nout_++] = r;
  return nout_ < sizeof out_ / sizeof out_[0] || flush();
}

bool Server::flush() noexcept {
  const char* p = reinterpret_cast<const char*>(out_);
  size_t left = nout_ * sizeof out_[0];
  nout_ = 0;
  while (left > 0) {
    // MSG_NOSIGNAL: a closed peer gives EPIPE, not a SIGPIPE that would kill the server before it
    // could end the jobs.
    ssize_t n = ::send(sock_, p, left, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return true;
}

void Server::track(pid_t pid) noexcept {
  if (!kids_.reserve((nkids_ + 1) * sizeof(pid_t))) return;  // untracked: not killed at the end
  reinterpret_cast<pid_t*>(kids_.p)[nkids_++] = pid;
}

void Server::untrack(pid_t pid) noexcept {
  pid_t* k = reinterpret_cast<pid_t*>(kids_.p);
  for (size_t i = 0; i < nkids_; ++i) {
    if (k[i] == pid) {
      k[i] = k[--nkids_];
      return;
    }
  }
}

bool Server::reap(bool report) noexcept {
  // Drain the signalfd first: a SIGCHLD arriving after the wait4 loop then wakes poll() again.
  struct signalfd_siginfo si[16];
  while (::read(sigfd_, si, sizeof si) > 0) {
  }
  bool ok = true;
  for (;;) {
    int status = 0;
    struct rusage ru = {};
    pid_t pid = ::wait4(-1, &status, WNOHANG, &ru);
    if (pid < 0 && errno == EINTR) continue;
    if (pid <= 0) break;
    untrack(pid);
    if (report && ok) {
      Report r = {};
      r.kind = kExited;
      r.pid = pid;
      r.status = status;
      r.utime_us = int64_t{ru.ru_utime.tv_sec} * 1000000 + ru.ru_utime.tv_usec;
      r.stime_us = int64_t{ru.ru_stime.tv_sec} * 1000000 + ru.ru_stime.tv_usec;
      r.maxrss_kib = ru.ru_maxrss;
      ok = queue(r);
    }
  }
  return ok;
}

bool Server::serve_request() noexcept {
  RequestHeader h;
  int fds[3];
  int nfds = 0;
  size_t body_got = 0;
  if (!read_header(h, fds, nfds, body_got)) return false;
  auto drop_fds = [&] {
    for (int i = 0; i < nfds; ++i) ::close(fds[i]);
  };
  // A wrong magic or length means the stream is out of step: nothing more can be trusted.
  if (h.magic != kRequestMagic || h.body_len > kMaxBody || body_got > h.body_len ||
      !body_.reserve(h.body_len + 1)) {
    drop_fds();
    return false;
  }
  if (!read_full(body_.p + body_got, h.body_len - body_got)) {
    drop_fds();
    return false;
  }
  body_.p[h.body_len] = '\0';

  Report r = {};
  r.kind = kFailed;
  r.pid = -1;
  r.stage = detail::kStageNone;

  // The stdio plan from the flags and the received fds (in slot order).
  detail::ChildPlan plan;
  // setup() put every disposition of the server back to SIG_DFL: its children inherit nothing to
  // reset.
  plan.reset_count = 0;
  int next = 0;
  bool fds_ok = true;
  for (int t = 0; t < 3; ++t) {
    if (h.fd_flags & (kFdPassed << t)) {
      if (next < nfds)
        plan.stdio[t] = fds[next++];
      else
        fds_ok = false;
    } else if (h.fd_flags & (kFdClosed << t)) {
      plan.stdio[t] = detail::kCloseFd;
    }
  }
  if (next != nfds) fds_ok = false;

  // Split the body into path, cwd, argv and envp; pointers into body_, arrays in ptrs_.
  const size_t nptrs = size_t{h.argc} + 1 + size_t{h.envc} + 1;
  bool body_ok = ptrs_.reserve(nptrs * sizeof(char*));
  if (body_ok) {
    char** arr = reinterpret_cast<char**>(ptrs_.p);
    const size_t total = 2 + size_t{h.argc} + size_t{h.envc};
    char* p = body_.p;
    char* end = body_.p + h.body_len;
    size_t i = 0;
    for (; i < total && p < end; ++i) {
      char* s = p;
      char* nul = static_cast<char*>(memchr(p, '\0', static_cast<size_t>(end - p)));
      if (nul == nullptr) break;
      p = nul + 1;
      if (i == 0) {
        plan.path = s;
      } else if (i == 1) {
        plan.cwd = *s ? s : nullptr;
      } else if (i < 2 + h.argc) {
        arr[i - 2] = s;
      } else {
        arr[i - 2 + 1] = s;  // envp starts after argv's NULL
      }
    }
    body_ok = i == total && p == end;
    if (body_ok) {
      arr[h.argc] = nullptr;
      arr[h.argc + 1 + h.envc] = nullptr;
      plan.argv = arr;
      plan.envp = arr + h.argc + 1;
    }
  }

  if (!fds_ok || !body_ok) {
    r.status = fds_ok ? EBADMSG : EBADF;
  } else {
    if (h.fd_flags & kWorker) plan.run_instead = &run_builtin_worker;
    detail::ForkExecResult fr = child_stack_ && !plan.run_instead
                                    ? detail::vfork_exec(plan, child_stack_, kChildStackSize)
                                    : detail::fork_exec(plan);
    if (fr.pid > 0) {
      r.kind = kLaunched;
      r.pid = fr.pid;
      track(fr.pid);
    } else {
      r.status = fr.error;
      r.stage = fr.stage;
    }
  }
  drop_fds();  // the child has its copies
  // The answer first, at once: poolrun waits for it. Then any exits that happened meanwhile (a
  // job's exit report must follow its answer, and the new child may already have ended).
  const bool sent = queue(r) && flush();
  return sent && reap(true) && flush();
}

void Server::shutdown() noexcept {
  // poolrun is gone: end every job still running, with its process group.
  const pid_t* k = reinterpret_cast<const pid_t*>(kids_.p);
  for (size_t i = 0; i < nkids_; ++i) ::kill(-k[i], SIGKILL);
  // Reap them, so none lingers as a zombie (in a container, pid 1 may not reap orphans). Bounded:
  // a job stuck in uninterruptible sleep must not keep the server (and poolrun's destructor).
  struct timespec start;
  ::clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    reap(false);
    if (nkids_ == 0) break;
    struct timespec now;
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    long elapsed_ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
    if (elapsed_ms >= 2000) break;
    struct pollfd pfd = {sigfd_, POLLIN, 0};
    ::poll(&pfd, 1, static_cast<int>(2000 - elapsed_ms));
  }
  ::_exit(0);
}

// ---------------------------------------------------------------------------------------------
// poolrun's side

class ForkserverLauncher final : public core::Launcher {
 public:
  ForkserverLauncher(pid_t server, UniqueFd sock, UniqueFd ready, UniqueFd wake)
      : server_pid_(server), sock_(std::move(sock)), ready_(std::move(ready)), wake_(std::move(wake)) {}

  ~ForkserverLauncher() override {
    // Closing our end is the server's signal to end the remaining jobs and exit.
    sock_.reset();
    reap_server(true);
  }

  const char* name() const override { return "forkserver"; }
  int event_fd() const override { return ready_.get(); }

  core::LaunchResult launch(const core::LaunchRequest& req) override;
  core::LaunchResult launch_builtin_worker(int task_fd, int result_fd) override;

  void collect(std::vector<core::ExitStatus>& out) override {
    read_available();
    take_pending(out);
  }

  void collect_blocking(std::vector<core::ExitStatus>& out) override {
    for (;;) {
      read_available();
      if (!pending_.empty() || running_.empty()) break;
      struct pollfd pfd = {sock_.get(), POLLIN, 0};
      ::poll(&pfd, 1, -1);
    }
    take_pending(out);
  }

 private:
  /// Reads every report available without blocking; parses complete ones.
  void read_available() { read_reports(false); }
  /// Reads and parses reports: what is there (`block` false), or at least one read's worth,
  /// waiting for it (`block` true: only while an answer is due, which the server always sends).
  void read_reports(bool block);
  void on_report(const Report& r);
  /// The server is gone: no more reports. Jobs it had started are reported as killed (their real
  /// status is unknowable), so the engine still sees every child once.
  void on_server_gone();
  void take_pending(std::vector<core::ExitStatus>& out) {
    out.insert(out.end(), pending_.begin(), pending_.end());
    pending_.clear();
    if (wake_set_) {
      std::uint64_t n;
      while (::read(wake_.get(), &n, sizeof n) < 0 && errno == EINTR) {
      }
      wake_set_ = false;
    }
  }
  /// Makes event_fd() readable while reports wait in pending_ (see "Waking the engine").
  void notify_pending() {
    if (pending_.empty() || wake_set_) return;
    const std::uint64_t one = 1;
    while (::write(wake_.get(), &one, sizeof one) < 0 && errno == EINTR) {
    }
    wake_set_ = true;
  }
  void reap_server(bool block) {
    if (server_pid_ <= 0) return;
    int status;
    pid_t r;
    do {
      r = ::waitpid(server_pid_, &status, block ? 0 : WNOHANG);
    } while (r < 0 && errno == EINTR);
    if (r != 0) server_pid_ = -1;  // reaped, or not our child any more (ECHILD)
  }
  /// Sends all of `buf`, the first bytes with `fds` attached; drains reports while the socket is
  /// full. Returns 0 or an errno.
  int send_request(const std::string& buf, const int* fds, int nfds);
  /// Sends request_ with `fds` and waits for the answer (exit reports read meanwhile are queued).
  core::LaunchResult exchange(const int* fds, int nfds);

  pid_t server_pid_;
  UniqueFd sock_;   ///< the channel to the server, non-blocking
  UniqueFd ready_;  ///< epoll over sock_ and wake_: what event_fd() returns
  UniqueFd wake_;   ///< eventfd, signalled while pending_ holds reports the socket no longer shows
  bool wake_set_ = false;
  bool dead_ = false;
  std::string inbuf_;    ///< bytes of an incomplete report
  std::string request_;  ///< reused request buffer
  bool have_answer_ = false;
  Report answer_ = {};
  std::vector<core::ExitStatus> pending_;
  std::unordered_set<int> running_;  ///< launched and not yet reported
};

void ForkserverLauncher::on_report(const Report& r) {
  if (r.kind == kExited) {
    struct rusage ru = {};
    ru.ru_utime.tv_sec = r.utime_us / 1000000;
    ru.ru_utime.tv_usec = r.utime_us % 1000000;
    ru.ru_stime.tv_sec = r.stime_us / 1000000;
    ru.ru_stime.tv_usec = r.stime_us % 1000000;
    ru.ru_maxrss = r.maxrss_kib;
    running_.erase(r.pid);
    pending_.push_back(exit_status_from(r.pid, r.status, ru));
  } else {
    answer_ = r;
    have_answer_ = true;
  }
}

void ForkserverLauncher::read_reports(bool block) {
  if (dead_) return;
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(sock_.get(), buf, sizeof buf, block ? 0 : MSG_DONTWAIT);
    block = false;
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      on_server_gone();
      return;
    }
    if (n == 0) {
      on_server_gone();
      return;
    }
    inbuf_.append(buf, static_cast<size_t>(n));
    size_t off = 0;
    while (inbuf_.size() - off >= sizeof(Report)) {
      Report r;
      memcpy(&r, inbuf_.data() + off, sizeof r);
      off += sizeof r;
      on_report(r);
    }
    inbuf_.erase(0, off);
    // A short read emptied the socket: stop without the extra recv() that would say EAGAIN.
    // (Anything arriving later makes the socket, and event_fd(), readable again.)
    if (static_cast<size_t>(n) < sizeof buf) return;
  }
}

void ForkserverLauncher::on_server_gone() {
  if (dead_) return;
  dead_ = true;
  for (int pid : running_) {
    core::ExitStatus st;
    st.pid = pid;
    st.signal = SIGKILL;
    pending_.push_back(st);
  }
  running_.clear();
  // The socket now stays readable (EOF) forever: take it out of event_fd()'s set, so the engine is
  // not woken again and again; the synthesized reports are signalled through the eventfd.
  ::epoll_ctl(ready_.get(), EPOLL_CTL_DEL, sock_.get(), nullptr);
  notify_pending();
  reap_server(false);
}

int ForkserverLauncher::send_request(const std::string& buf, const int* fds, int nfds) {
  size_t off = 0;
  bool fds_sent = nfds == 0;
  while (off < buf.size()) {
    struct iovec iov = {const_cast<char*>(buf.data() + off), buf.size() - off};
    struct msghdr msg = {};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(struct cmsghdr) char cbuf[CMSG_SPACE(sizeof(int) * 3)];
    if (!fds_sent) {
      msg.msg_control = cbuf;
      msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
      struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
      memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    ssize_t n = ::sendmsg(sock_.get(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      off += static_cast<size_t>(n);
      fds_sent = true;  // ancillary data goes with the first byte sent
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // The server is busy (perhaps blocked sending us reports): drain them, then retry.
      struct pollfd pfd = {sock_.get(), POLLIN | POLLOUT, 0};
      ::poll(&pfd, 1, -1);
      if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
        read_available();
        if (dead_) return EPIPE;
      }
      continue;
    }
    return n < 0 ? errno : EPIPE;
  }
  return 0;
}

core::LaunchResult ForkserverLauncher::launch(const core::LaunchRequest& req) {
  core::LaunchResult res;
  res.stage = "forkserver";
  if (dead_) {
    res.error = EPIPE;
    return res;
  }

  // The stdio plan: the job's fds, or for "inherit" poolrun's own fd t (or "closed" if poolrun has
  // none there), so the job gets what spawn would give it.
  RequestHeader h = {};
  h.magic = kRequestMagic;
  int fds[3];
  int nfds = 0;
  const int src[3] = {req.stdin_fd, req.stdout_fd, req.stderr_fd};
  for (int t = 0; t < 3; ++t) {
    int fd = src[t] >= 0 ? src[t] : (::fcntl(t, F_GETFD) >= 0 ? t : -1);
    if (fd >= 0) {
      fds[nfds++] = fd;
      h.fd_flags |= kFdPassed << t;
    } else {
      h.fd_flags |= kFdClosed << t;
    }
  }

  size_t body = req.path.size() + 1 + req.cwd.size() + 1;
  for (const auto& a : req.argv) body += a.size() + 1;
  if (req.env) {
    for (const auto& e : *req.env) body += e.size() + 1;
    h.envc = static_cast<uint32_t>(req.env->size());
  } else {
    // poolrun's environment as it is now; its strings are copied straight from environ below.
    for (char** e = environ; e && *e; ++e) {
      body += strlen(*e) + 1;
      ++h.envc;
    }
  }
  h.argc = static_cast<uint32_t>(req.argv.size());
  h.body_len = body;
  if (body > kMaxBody) {
    res.stage = "exec";
    res.error = E2BIG;
    return res;
  }

  request_.clear();
  request_.reserve(sizeof h + body);
  request_.append(reinterpret_cast<const char*>(&h), sizeof h);
  auto put = [this](const char* s, size_t n) { request_.append(s, n).push_back('\0'); };
  put(req.path.data(), req.path.size());
  put(req.cwd.data(), req.cwd.size());
  for (const auto& a : req.argv) put(a.data(), a.size());
  if (req.env) {
    for (const auto& e : *req.env) put(e.data(), e.size());
  } else {
    for (char** e = environ; e && *e; ++e) put(*e, strlen(*e));
  }

  return exchange(fds, nfds);
}

core::LaunchResult ForkserverLauncher::launch_builtin_worker(int task_fd, int result_fd) {
  core::LaunchResult res;
  res.stage = "forkserver";
  if (dead_) {
    res.error = EPIPE;
    return res;
  }
  RequestHeader h = {};
  h.magic = kRequestMagic;
  h.fd_flags = kWorker | (kFdPassed << 0) | (kFdPassed << 1);
  int fds[3] = {task_fd, result_fd, -1};
  int nfds = 2;
  if (::fcntl(2, F_GETFD) >= 0) {
    fds[nfds++] = 2;
    h.fd_flags |= kFdPassed << 2;
  } else {
    h.fd_flags |= kFdClosed << 2;
  }
  h.body_len = 2;  // empty path, empty cwd
  request_.assign(reinterpret_cast<const char*>(&h), sizeof h);
  request_.append(2, '\0');
  return exchange(fds, nfds);
}

core::LaunchResult ForkserverLauncher::exchange(const int* fds, int nfds) {
  core::LaunchResult res;
  res.stage = "forkserver";
  have_answer_ = false;
  // Exit reports read while sending or waiting are queued; make sure the engine hears of them.
  struct Notify {
    ForkserverLauncher* self;
    ~Notify() { self->notify_pending(); }
  } notify{this};
  if (int err = send_request(request_, fds, nfds)) {
    on_server_gone();
    res.error = err;
    return res;
  }
  // Wait for the answer in recv() itself (the socket is blocking; every other read and send passes
  // MSG_DONTWAIT); exit reports read meanwhile are queued for collect().
  while (!have_answer_) {
    if (dead_) {
      res.error = EPIPE;
      return res;
    }
    read_reports(true);
  }
  have_answer_ = false;
  if (answer_.kind == kLaunched) {
    res.pid = answer_.pid;
    res.stage.clear();
    running_.insert(answer_.pid);
  } else {
    res.error = answer_.status;
    res.stage = answer_.stage == detail::kStageNone ? "forkserver" : detail::stage_name(answer_.stage);
  }
  return res;
}

}  // namespace

std::unique_ptr<core::Launcher> make_forkserver_launcher(std::error_code& ec) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    ec = {errno, std::system_category()};
    return nullptr;
  }
  // Block every signal across fork so none of the caller's handlers runs in the server before
  // setup() resets them.
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(sv[0]);
    Server(sv[1]).run();
  }
  int fork_errno = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  ::close(sv[1]);
  if (pid < 0) {
    ::close(sv[0]);
    ec = {fork_errno, std::system_category()};
    return nullptr;
  }
  UniqueFd sock(sv[0]);
  UniqueFd ready(::epoll_create1(EPOLL_CLOEXEC));
  UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  auto add = [&](int fd) {
    struct epoll_event ev = {};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    return ::epoll_ctl(ready.get(), EPOLL_CTL_ADD, fd, &ev) == 0;
  };
  // The socket stays blocking, but poolrun blocks on it only in recv() while an answer is due;
  // every other recv and send is MSG_DONTWAIT.
  if (!ready || !wake || !add(sock.get()) || !add(wake.get())) ec = {errno, std::system_category()};
  if (ec) {
    sock.reset();  // EOF: the server exits
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return nullptr;
  }
  return std::make_unique<ForkserverLauncher>(pid, std::move(sock), std::move(ready), std::move(wake));
}

}  // namespace poolrun::platform
