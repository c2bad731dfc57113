// Start method "forkserver", the server side (the client: forkserver_client.cc): a small single-threaded server process, forked once when the launcher
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
// platform/process/forkserver_protocol.h: the message layout, its encoding, and the pure request
// parser the server uses (fuzzed by tests/fuzz/fuzz_forkserver.cc).
//
// End: when poolrun's end closes (normal destruction, a crash, or kill -9), the server reads EOF
// (or EPIPE when writing), SIGKILLs the process group of every job still running, reaps them for
// at most ~2 s, and exits. Nothing else stops it: it leads its own process group, so the terminal's
// Ctrl-C goes to poolrun, which ends the jobs itself.
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
// - If the server itself dies, poolrun's side ends the jobs it started (forkserver_client.cc).
// - An empty cwd means the server's cwd, i.e. poolrun's when the launcher was made.
//
// ## The server is allocation-free
// It is a fork of poolrun (or of a test binary) that may already have threads, whose locks (malloc,
// spdlog, ...) could be held by threads that do not exist in the fork. So the server's code, like
// the child path, uses only system calls: buffers come from mmap/mremap, nothing from malloc, no
// C++ library calls that allocate, no logging, no exceptions, and it ends with _exit().
#include "platform/process/forkserver_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
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

#include "platform/process/builtin.h"
#include "platform/process/child_exec.h"
#include "platform/process/forkserver_protocol.h"

namespace poolrun::platform::forkserver {
namespace {

/// See the file comment: how the server starts a job.
constexpr bool kServerUsesVfork = true;
/// The vfork child's stack (the child path needs a few KiB; sanitizers need more).
constexpr size_t kChildStackSize = size_t{256} << 10;

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
    if (report && ok)
      ok = queue(exited_report(pid, status, int64_t{ru.ru_utime.tv_sec} * 1000000 + ru.ru_utime.tv_usec,
                               int64_t{ru.ru_stime.tv_sec} * 1000000 + ru.ru_stime.tv_usec, ru.ru_maxrss));
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
  // A bad header means the stream is out of step: nothing more can be trusted.
  if (check_header(h, body_got) != ParseError::None || !body_.reserve(h.body_len + 1) ||
      !read_full(body_.p + body_got, h.body_len - body_got) ||
      !ptrs_.reserve(pointer_slots(h) * sizeof(char*))) {
    drop_fds();
    return false;
  }

  Report r = {};
  r.kind = kFailed;
  r.pid = -1;
  r.stage = static_cast<int32_t>(LaunchStage::Forkserver);

  ParsedRequest req;
  const ParseError perr = parse_request(h, fds, nfds, body_.p, reinterpret_cast<char**>(ptrs_.p), req);
  if (perr != ParseError::None) {
    r.status = perr == ParseError::BadFds ? EBADF : EBADMSG;
  } else {
    detail::ChildPlan plan;
    // setup() put every disposition of the server back to SIG_DFL: its children inherit nothing
    // to reset.
    plan.reset_count = 0;
    for (int t = 0; t < 3; ++t) plan.stdio[t] = req.stdio[t] == kCloseSlot ? detail::kCloseFd : req.stdio[t];
    plan.path = req.path;
    plan.cwd = req.cwd;
    plan.argv = req.argv;
    plan.envp = req.envp;
    if (req.builtin) plan.run_instead = find_builtin(req.path);
    if (req.builtin && plan.run_instead == nullptr) {
      r.status = ENOENT;
      r.stage = static_cast<int32_t>(LaunchStage::Builtin);
    } else {
      detail::ForkExecResult fr = child_stack_ && !plan.run_instead
                                      ? detail::vfork_exec(plan, child_stack_, kChildStackSize)
                                      : detail::fork_exec(plan);
      if (fr.pid > 0) {
        r.kind = kLaunched;
        r.pid = fr.pid;
        track(fr.pid);
      } else {
        r.status = fr.error;
        r.stage = static_cast<int32_t>(fr.stage);
      }
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

}  // namespace

void run_server(int sock) noexcept { Server(sock).run(); }

}  // namespace poolrun::platform::forkserver
