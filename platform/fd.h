// File descriptors: one owner per fd, close-on-exec from birth.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace poolrun::platform {

/// Owns one file descriptor; closes it on destruction. Move-only, modelled on AOSP's unique_fd:
/// release() gives up ownership, reset() keeps errno, close is never retried on EINTR.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) reset(o.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  explicit operator bool() const { return valid(); }
  int release() { return std::exchange(fd_, -1); }
  /// Closes the owned fd (if any) and takes `fd`. Preserves errno.
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

/// A pipe: both ends close-on-exec (pipe2 with O_CLOEXEC).
struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

/// Creates a pipe, both ends close-on-exec; `nonblock_read` sets O_NONBLOCK on the read end only.
/// Returns an error code (errno) on failure.
std::error_code make_pipe(Pipe& out, bool nonblock_read = false);

/// Sets or clears O_NONBLOCK. Returns an errno error code on failure.
std::error_code set_nonblocking(int fd, bool on);

/// Writes all of `data` to `fd`, retrying on EINTR and partial writes; for a non-blocking fd it
/// waits with poll() when the fd is full. Returns an errno error code (EPIPE when the reader left).
std::error_code write_all(int fd, std::string_view data);

/// One write(2) of up to `len` bytes (no retry on a short write), retried on EINTR only. Returns the
/// bytes written, or -errno (-EAGAIN when a non-blocking fd is full, -EPIPE when the reader left).
long write_some(int fd, const char* data, std::size_t len);

/// Asks for a pipe buffer of at least `bytes` behind `fd` (F_SETPIPE_SZ), best effort: a refusal
/// (e.g. over /proc/sys/fs/pipe-max-size) is ignored.
void grow_pipe(int fd, std::size_t bytes);

/// The bytes written into the pipe open on `fd` (either end) that no reader has taken yet
/// (ioctl FIONREAD), or -errno when the kernel cannot tell.
long pipe_unread(int fd);

/// Reads up to `cap` bytes into `buf`. Returns bytes read (0 at EOF) or -errno (EAGAIN when a
/// non-blocking fd has nothing). Retries on EINTR.
long read_some(int fd, char* buf, std::size_t cap);

/// Reads `fd` from where it stands to EOF (blocking; retries EINTR), appending to `out`: a whole
/// file, or all a pipe gives. `keep_tail` > 0 keeps only the last `keep_tail` bytes of what was
/// read (the end of a log is where a failure shows), with memory bounded by about twice that plus
/// 64 KiB while reading, and adds the bytes dropped from the front to `*dropped` when non-null.
/// Returns an errno error code on a read error; `out` then holds what was read before it.
std::error_code read_file(int fd, std::string& out, std::size_t keep_tail = 0,
                          std::uint64_t* dropped = nullptr);

/// True if a read() of `fd` would not block now (data, EOF or an error waits): poll() with a zero
/// timeout. False on any poll() error.
bool readable_now(int fd);

/// What a read() of a pipe would do now.
enum class ReadState {
  Waiting,   ///< it would block (nothing written yet, a writer still open), or poll() failed
  Readable,  ///< data (or an error) waits: read() returns at once
  Eof,       ///< every writer closed and nothing left: read() would return 0
};

/// The ReadState of each of the `n` fds (-1 entries: Waiting) in `out`: one poll() with a zero
/// timeout for all of them.
void read_states_now(const int* fds, ReadState* out, std::size_t n);

/// A close-on-exec duplicate of `fd` (F_DUPFD_CLOEXEC, above 2). Returns an invalid fd and sets `ec`
/// on failure.
UniqueFd dup_cloexec(int fd, std::error_code& ec);

/// Opens /dev/null for reading, close-on-exec. Returns an invalid fd and sets `ec` on failure.
UniqueFd open_dev_null(std::error_code& ec);

/// Opens a file for reading, close-on-exec ("-" is not special here).
UniqueFd open_read(const std::string& path, std::error_code& ec);

/// Opens (creating, mode 0644 before umask) a file for writing, close-on-exec; truncates unless
/// `append`. Returns an invalid fd and sets `ec` on failure.
UniqueFd open_write(const std::string& path, bool append, std::error_code& ec);

/// For a regular file open for writing: cuts off a last line that lacks its '\n' (what an
/// interrupted or failed write leaves), so appends start on a line of their own. Sets `dropped`
/// to the bytes cut (0 when the file is empty, not regular, or ends with '\n'). Returns the
/// fstat/pread/ftruncate error.
std::error_code trim_partial_line(int fd, std::uint64_t& dropped);

/// As open_write, but open for reading too (O_RDWR), so trim_partial_line() can look at the end.
UniqueFd open_read_write(const std::string& path, bool append, std::error_code& ec);

/// True if `fd` is a regular file (reads never wait for a writer; epoll cannot watch it).
bool is_regular_file(int fd);

/// True if `fd` refers to a terminal.
bool is_tty(int fd);

/// Columns of the terminal on `fd` (TIOCGWINSZ), or 80 when unknown.
std::size_t terminal_width(int fd);

/// Human-readable message for an errno value (thread-safe).
std::string errno_message(int err);

/// True when `ec` says the process or the system has no file descriptor left (EMFILE, ENFILE):
/// a failure that a job ending may cure, unlike ENOMEM.
bool is_out_of_fds(std::error_code ec);

/// Raises the soft RLIMIT_NOFILE to the hard limit. Returns the soft limit now in force.
std::size_t raise_fd_limit();

}  // namespace poolrun::platform
