// Small POSIX helpers for the worker pool of --map (core/map/map_pool.h): non-blocking writes, pipe
// fill levels and counting the records of a regular file without moving its offset.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "platform/fd.h"  // write_some, grow_pipe

namespace poolrun::platform {

/// When `fd` is a regular file: the number of records from its current offset to its end, ended
/// by `delim` (a last record without a delimiter counts), read with pread(2) so the offset does
/// not move. nullopt for anything else (pipe, terminal) or on a read error.
std::optional<std::uint64_t> count_records_ahead(int fd, std::string_view delim);

}  // namespace poolrun::platform
