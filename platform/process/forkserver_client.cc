// Start method "forkserver", poolrun's side (the server: forkserver_server.cc, the wire format:
// forkserver_protocol.h).
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
// ## When the server dies
// The jobs it started are killed (their process groups get SIGKILL, as the server itself would do)
// and reported as killed by SIGKILL (their real status is unknowable); usable() turns false and
// later launches fail with EPIPE, stage "forkserver". The engine ends the run then.
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "platform/fd.h"
#include "platform/process/builtin.h"
#include "platform/process/forkserver_protocol.h"
#include "platform/process/forkserver_server.h"
#include "platform/process/launchers.h"

extern char** environ;

namespace poolrun::platform {
namespace {

using namespace forkserver;

class ForkserverLauncher final : public Launcher {
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

  LaunchResult launch(const LaunchRequest& req) override;
  LaunchResult launch_builtin(BuiltinId id, int in_fd, int out_fd) override;
  bool usable() const override { return !dead_; }

  void collect(std::vector<ExitStatus>& out) override {
    read_available();
    take_pending(out);
  }

  void collect_blocking(std::vector<ExitStatus>& out) override {
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
  void take_pending(std::vector<ExitStatus>& out) {
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
  /// Sends request_ with the fds of `slot` (>= 0: passed; the flags in request_ say which) and
  /// waits for the answer (exit reports read meanwhile are queued).
  LaunchResult exchange(const int slot[3]);

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
  std::vector<ExitStatus> pending_;
  std::unordered_set<int> running_;  ///< launched and not yet reported
};

void ForkserverLauncher::on_report(const Report& r) {
  if (r.kind == kExited) {
    running_.erase(r.pid);
    pending_.push_back(exit_status_of(r));
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
    // The server would have ended them had it seen poolrun go; it went first. Their groups are
    // ended here the same way, so no job of the run is left running unseen. (They are no longer
    // poolrun's descendants' children: whoever adopted them reaps them.)
    ::kill(-pid, SIGKILL);
    ExitStatus st;
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

LaunchResult ForkserverLauncher::launch(const LaunchRequest& req) {
  if (dead_) return LaunchResult::failed(LaunchStage::Forkserver, EPIPE);
  // The stdio plan: the job's fds, or for "inherit" poolrun's own fd t (or "closed" if poolrun has
  // none there), so the job gets what spawn would give it.
  const int src[3] = {req.stdin_fd, req.stdout_fd, req.stderr_fd};
  int slot[3];
  for (int t = 0; t < 3; ++t) slot[t] = src[t] >= 0 ? src[t] : (::fcntl(t, F_GETFD) >= 0 ? t : -1);
  if (!encode_command(request_, stdio_flags(slot), req, environ))
    return LaunchResult::failed(LaunchStage::Exec, E2BIG);
  return exchange(slot);
}

LaunchResult ForkserverLauncher::launch_builtin(BuiltinId id, int in_fd, int out_fd) {
  if (dead_) return LaunchResult::failed(LaunchStage::Forkserver, EPIPE);
  // Looked up here too, so an unknown entry fails the same way in every start method.
  if (find_builtin(id) == nullptr) return LaunchResult::failed(LaunchStage::Builtin, ENOENT);
  const int slot[3] = {in_fd, out_fd, ::fcntl(2, F_GETFD) >= 0 ? 2 : -1};
  encode_builtin(request_, stdio_flags(slot), id);
  return exchange(slot);
}

LaunchResult ForkserverLauncher::exchange(const int slot[3]) {
  int fds[3];
  int nfds = 0;
  for (int t = 0; t < 3; ++t)
    if (slot[t] >= 0) fds[nfds++] = slot[t];
  have_answer_ = false;
  // Exit reports read while sending or waiting are queued; make sure the engine hears of them.
  struct Notify {
    ForkserverLauncher* self;
    ~Notify() { self->notify_pending(); }
  } notify{this};
  if (int err = send_request(request_, fds, nfds)) {
    on_server_gone();
    return LaunchResult::failed(LaunchStage::Forkserver, err);
  }
  // Wait for the answer in recv() itself (the socket is blocking; every other read and send passes
  // MSG_DONTWAIT); exit reports read meanwhile are queued for collect().
  while (!have_answer_) {
    if (dead_) return LaunchResult::failed(LaunchStage::Forkserver, EPIPE);
    read_reports(true);
  }
  have_answer_ = false;
  if (answer_.kind == kLaunched) {
    running_.insert(answer_.pid);
    return LaunchResult::started(answer_.pid);
  }
  const auto stage = static_cast<LaunchStage>(answer_.stage);
  return LaunchResult::failed(stage == LaunchStage::None ? LaunchStage::Forkserver : stage, answer_.status);
}

}  // namespace

std::unique_ptr<Launcher> make_forkserver_launcher(std::error_code& ec) {
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
    run_server(sv[1]);
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
