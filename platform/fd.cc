#include "platform/fd.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

namespace poolrun::platform {

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) {
    int saved = errno;
    // Never retry close on EINTR: on Linux the fd is released even then.
    ::close(fd_);
    errno = saved;
  }
  fd_ = fd;
}

static std::error_code errc(int e) { return {e, std::system_category()}; }

std::error_code make_pipe(Pipe& out, bool nonblock_read) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return errc(errno);
  out.read.reset(fds[0]);
  out.write.reset(fds[1]);
  if (nonblock_read) return set_nonblocking(fds[0], true);
  return {};
}

std::error_code set_nonblocking(int fd, bool on) {
  int fl = ::fcntl(fd, F_GETFL);
  if (fl < 0) return errc(errno);
  int want = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
  if (want != fl && ::fcntl(fd, F_SETFL, want) != 0) return errc(errno);
  return {};
}

std::error_code write_all(int fd, std::string_view data) {
  const char* p = data.data();
  std::size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) {
        struct pollfd pfd = {fd, POLLOUT, 0};
        ::poll(&pfd, 1, -1);
        continue;
      }
      return errc(errno);
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  return {};
}

long write_some(int fd, const char* data, std::size_t len) {
  for (;;) {
    ssize_t n = ::write(fd, data, len);
    if (n >= 0) return static_cast<long>(n);
    if (errno != EINTR) return -errno;
  }
}

void grow_pipe(int fd, std::size_t bytes) { (void)::fcntl(fd, F_SETPIPE_SZ, static_cast<int>(bytes)); }

long pipe_unread(int fd) {
  int n = 0;
  if (::ioctl(fd, FIONREAD, &n) != 0) return -errno;
  return n;
}

long read_some(int fd, char* buf, std::size_t cap) {
  for (;;) {
    ssize_t n = ::read(fd, buf, cap);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    return -errno;
  }
}

std::error_code read_file(int fd, std::string& out, std::size_t keep_tail, std::uint64_t* dropped) {
  const std::size_t start = out.size();
  char buf[64 * 1024];
  // Drops all but the last keep_tail bytes of what this call appended.
  auto trim = [&] {
    std::size_t got = out.size() - start;
    if (keep_tail == 0 || got <= keep_tail) return;
    if (dropped) *dropped += got - keep_tail;
    out.erase(start, got - keep_tail);
  };
  for (;;) {
    long n = read_some(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      trim();
      return errc(static_cast<int>(-n));
    }
    out.append(buf, static_cast<std::size_t>(n));
    if (keep_tail > 0 && out.size() - start > 2 * keep_tail + sizeof buf) trim();
  }
  trim();
  return {};
}

bool readable_now(int fd) {
  struct pollfd pfd = {fd, POLLIN, 0};
  return ::poll(&pfd, 1, 0) == 1;
}

void read_states_now(const int* fds, ReadState* out, std::size_t n) {
  struct pollfd pfd[8];
  for (std::size_t base = 0; base < n; base += 8) {
    const std::size_t k = std::min<std::size_t>(8, n - base);
    for (std::size_t i = 0; i < k; ++i) pfd[i] = {fds[base + i], POLLIN, 0};  // fd -1: ignored
    const bool ok = ::poll(pfd, k, 0) >= 0;
    for (std::size_t i = 0; i < k; ++i) {
      const short r = ok && pfd[i].fd >= 0 ? pfd[i].revents : 0;
      out[base + i] = (r & (POLLIN | POLLERR | POLLNVAL)) ? ReadState::Readable
                      : (r & POLLHUP)                     ? ReadState::Eof
                                                          : ReadState::Waiting;
    }
  }
}

UniqueFd dup_cloexec(int fd, std::error_code& ec) {
  int d = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (d < 0) ec = errc(errno);
  return UniqueFd(d);
}

UniqueFd open_dev_null(std::error_code& ec) {
  int fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd < 0) ec = errc(errno);
  return UniqueFd(fd);
}

UniqueFd open_read(const std::string& path, std::error_code& ec) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    ec = errc(errno);
  } else {
    struct stat st;
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
      ::close(fd);
      ec = errc(EISDIR);
      return UniqueFd();
    }
  }
  return UniqueFd(fd);
}

UniqueFd open_write(const std::string& path, bool append, std::error_code& ec) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) ec = errc(errno);
  return UniqueFd(fd);
}

std::error_code trim_partial_line(int fd, std::uint64_t& dropped) {
  dropped = 0;
  struct stat st;
  if (::fstat(fd, &st) != 0) return errc(errno);
  if (!S_ISREG(st.st_mode) || st.st_size == 0) return {};
  // Scan back from the end for the last newline, a block at a time.
  char buf[4096];
  off_t end = st.st_size;
  while (end > 0) {
    off_t from = std::max<off_t>(0, end - static_cast<off_t>(sizeof buf));
    ssize_t n = ::pread(fd, buf, static_cast<std::size_t>(end - from), from);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errc(errno);
    }
    if (n == 0) break;
    for (ssize_t i = n - 1; i >= 0; --i) {
      if (buf[i] != '\n') continue;
      off_t keep = from + i + 1;
      if (keep == st.st_size) return {};
      if (::ftruncate(fd, keep) != 0) return errc(errno);
      dropped = static_cast<std::uint64_t>(st.st_size - keep);
      return {};
    }
    end = from;
  }
  if (::ftruncate(fd, 0) != 0) return errc(errno);  // not one whole line
  dropped = static_cast<std::uint64_t>(st.st_size);
  return {};
}

UniqueFd open_read_write(const std::string& path, bool append, std::error_code& ec) {
  int flags = O_RDWR | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC);
  int fd = ::open(path.c_str(), flags, 0644);
  if (fd < 0) ec = errc(errno);
  return UniqueFd(fd);
}

bool is_regular_file(int fd) {
  struct stat st;
  return ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

bool is_tty(int fd) { return ::isatty(fd) == 1; }

std::size_t terminal_width(int fd) {
  struct winsize ws = {};
  if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

std::string errno_message(int err) { return std::system_category().message(err); }

bool is_out_of_fds(std::error_code ec) {
  return ec == std::errc::too_many_files_open || ec == std::errc::too_many_files_open_in_system;
}

std::size_t raise_fd_limit() {
  struct rlimit rl;
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0) return 1024;
  if (rl.rlim_cur < rl.rlim_max) {
    rlimit want = rl;
    want.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &want) == 0) rl = want;
  }
  return rl.rlim_cur == RLIM_INFINITY ? (1u << 20) : static_cast<std::size_t>(rl.rlim_cur);
}

}  // namespace poolrun::platform
