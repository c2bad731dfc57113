// Feeding a job's stdin pipe: non-blocking writes, zero-copy file ranges (splice(2)), file reads.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <system_error>

#include "platform/fd.h"  // write_some, grow_pipe

namespace poolrun::platform {

/// Moves up to `len` bytes of the regular file `file_fd` from byte `offset` into the pipe
/// `pipe_fd` without copying them through user space (splice(2), non-blocking; the file's own
/// offset is not used nor changed). Falls back to pread + write where splice is not supported.
/// Returns the bytes moved (0 at the file's end), or -errno (-EAGAIN: pipe full; -EPIPE).
long splice_file_to_pipe(int file_fd, std::uint64_t offset, int pipe_fd, std::size_t len);

/// Reads up to `len` bytes at `offset` of `fd` (pread, retried on EINTR and short reads until
/// `len` bytes or the end). Returns the bytes read, or -errno.
long read_at(int fd, std::uint64_t offset, char* buf, std::size_t len);

/// The size in bytes of the regular file open on `fd`, or -errno (-EINVAL when not regular).
long long regular_file_size(int fd);

/// The current offset of `fd` (lseek SEEK_CUR), or -errno.
long long current_offset(int fd);

}  // namespace poolrun::platform
