// Small POSIX helpers for the worker pool of --map (core/map_pool.h): non-blocking writes, pipe
// fill levels and counting the records of a regular file without moving its offset.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace poolrun::platform {

/// One write(2) of up to `len` bytes, retried on EINTR only. Returns the bytes written (> 0), or
/// -errno (-EAGAIN when a non-blocking fd is full, -EPIPE when the reader has gone).
long write_some(int fd, const char* data, std::size_t len);

/// Bytes written into the pipe behind `fd` (either end) and not yet read (ioctl FIONREAD), or -1
/// when the kernel cannot tell.
long pipe_unread_bytes(int fd);

/// Sets the capacity of the pipe behind `fd` to at least `bytes` (F_SETPIPE_SZ), best effort: a
/// refusal (e.g. over /proc/sys/fs/pipe-max-size) is ignored.
void grow_pipe(int fd, std::size_t bytes);

/// When `fd` is a regular file: the number of records from its current offset to its end, ended
/// by `delim` (a last record without a delimiter counts), read with pread(2) so the offset does
/// not move. nullopt for anything else (pipe, terminal) or on a read error.
std::optional<std::uint64_t> count_records_ahead(int fd, std::string_view delim);

}  // namespace poolrun::platform
