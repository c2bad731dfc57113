#include "platform/feed_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace poolrun::platform {

namespace {
long copy_file_to_pipe(int file_fd, std::uint64_t offset, int pipe_fd, std::size_t len) {
  // Without splice: read a piece and write what the pipe takes now (the rest is read again
  // next time; the file is not changed underneath by poolrun).
  constexpr std::size_t kPiece = 64 * 1024;
  thread_local std::vector<char> buf(kPiece);
  std::size_t want = len < kPiece ? len : kPiece;
  ssize_t r;
  do {
    r = ::pread(file_fd, buf.data(), want, static_cast<off_t>(offset));
  } while (r < 0 && errno == EINTR);
  if (r <= 0) return r < 0 ? -errno : 0;
  return write_some(pipe_fd, buf.data(), static_cast<std::size_t>(r));
}
}  // namespace

long splice_file_to_pipe(int file_fd, std::uint64_t offset, int pipe_fd, std::size_t len) {
  thread_local bool no_splice = false;
  if (!no_splice) {
    for (;;) {
      loff_t off = static_cast<loff_t>(offset);
      ssize_t n = ::splice(file_fd, &off, pipe_fd, nullptr, len, SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
      if (n >= 0) return n;
      if (errno == EINTR) continue;
      if (errno != EINVAL && errno != ENOSYS) return -errno;
      no_splice = true;  // a file system without splice support: copy instead
      break;
    }
  }
  return copy_file_to_pipe(file_fd, offset, pipe_fd, len);
}

long read_at(int fd, std::uint64_t offset, char* buf, std::size_t len) {
  std::size_t got = 0;
  while (got < len) {
    ssize_t n = ::pread(fd, buf + got, len - got, static_cast<off_t>(offset + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  return static_cast<long>(got);
}

long long regular_file_size(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return -errno;
  if (!S_ISREG(st.st_mode)) return -EINVAL;
  return static_cast<long long>(st.st_size);
}

long long current_offset(int fd) {
  off_t o = ::lseek(fd, 0, SEEK_CUR);
  return o < 0 ? -errno : static_cast<long long>(o);
}

}  // namespace poolrun::platform
