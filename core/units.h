// Parsing of option values with units: job counts, durations, sizes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace poolrun::core {

/// Parses -j/--jobs as GNU parallel: "N" (N >= 1), "N%" of `cpus` (at least 1), "+N" (cpus + N),
/// "-N" (cpus - N, at least 1), "0" (as many as possible: returns `unlimited`).
/// Returns the number of job slots. Throws UsageError naming the value when malformed.
std::size_t parse_jobs(std::string_view spec, std::size_t cpus, std::size_t unlimited = 1000);

/// Parses a duration: seconds with fractions ("2.5"), or with a suffix ms, s, m, h, d ("300ms",
/// "1.5m"). Returns seconds (>= 0). Throws UsageError naming the value when malformed or negative.
double parse_duration(std::string_view spec);

/// Parses a size in bytes with an optional suffix k, K, m, M, g, G, t, T (powers of 1024), as GNU
/// parallel's --block: "1M" -> 1048576. Throws UsageError when malformed or zero.
std::uint64_t parse_size(std::string_view spec);

}  // namespace poolrun::core
