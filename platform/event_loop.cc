#include "platform/event_loop.h"

#include <errno.h>
#include <signal.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstring>

namespace poolrun::platform {

EventLoop::EventLoop() : ep_(::epoll_create1(EPOLL_CLOEXEC)) {
  if (!ep_) throw std::system_error(errno, std::system_category(), "epoll_create1");
}

static std::uint32_t mask(bool r, bool w) {
  return (r ? EPOLLIN | EPOLLRDHUP : 0u) | (w ? EPOLLOUT : 0u);
}

std::error_code EventLoop::add(int fd, std::uint64_t token, bool read, bool write) {
  struct epoll_event ev = {};
  ev.events = mask(read, write);
  ev.data.u64 = token;
  if (::epoll_ctl(ep_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return {errno, std::system_category()};
  return {};
}

std::error_code EventLoop::modify(int fd, std::uint64_t token, bool read, bool write) {
  struct epoll_event ev = {};
  ev.events = mask(read, write);
  ev.data.u64 = token;
  if (::epoll_ctl(ep_.get(), EPOLL_CTL_MOD, fd, &ev) != 0) return {errno, std::system_category()};
  return {};
}

void EventLoop::remove(int fd) { ::epoll_ctl(ep_.get(), EPOLL_CTL_DEL, fd, nullptr); }

int EventLoop::wait(std::vector<Ready>& out, int timeout_ms) {
  struct epoll_event evs[256];
  int n = ::epoll_wait(ep_.get(), evs, 256, timeout_ms);
  if (n <= 0) return 0;
  for (int i = 0; i < n; ++i) {
    Ready r;
    r.token = evs[i].data.u64;
    r.readable = evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLRDHUP);
    r.writable = evs[i].events & (EPOLLOUT | EPOLLERR);
    out.push_back(r);
  }
  return n;
}

int wait_writable_or_signal(int fd, int signal_fd) {
  struct pollfd p[2] = {{fd, POLLOUT, 0}, {signal_fd, POLLIN, 0}};
  for (;;) {
    int n = ::poll(p, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return 1;
    if (p[1].revents) return 2;
    return 1;
  }
}

static_assert(sizeof(sigset_t) <= sizeof(unsigned long long[16]));

SignalEvents::SignalEvents() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGCHLD, SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, s);
  sigset_t old;
  if (::pthread_sigmask(SIG_BLOCK, &set, &old) != 0)
    throw std::system_error(errno, std::system_category(), "pthread_sigmask");
  std::memcpy(old_mask_, &old, sizeof old);
  int fd = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
  if (fd < 0) throw std::system_error(errno, std::system_category(), "signalfd");
  fd_.reset(fd);
  ::signal(SIGPIPE, SIG_IGN);
}

SignalEvents::~SignalEvents() {
  sigset_t old;
  std::memcpy(&old, old_mask_, sizeof old);
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void SignalEvents::drain(std::vector<int>& out) {
  struct signalfd_siginfo si[16];
  for (;;) {
    ssize_t n = ::read(fd_.get(), si, sizeof si);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      return;
    }
    for (ssize_t i = 0; i < n / static_cast<ssize_t>(sizeof si[0]); ++i)
      out.push_back(static_cast<int>(si[i].ssi_signo));
    // A short read took every signal pending: skip the read that would only say EAGAIN. One that
    // arrives now leaves the signalfd readable, and the level-triggered loop reports it.
    if (static_cast<std::size_t>(n) < sizeof si) return;
  }
}

}  // namespace poolrun::platform
