// Option values with units (see units.h).
#include "core/units.h"

#include <charconv>
#include <cmath>
#include <system_error>
#include <limits>
#include <string>

#include "core/errors.h"

namespace poolrun::core {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

/// Parses a run of decimal digits at `i` into `out` (saturating). Returns false if no digit.
bool parse_digits(std::string_view s, std::size_t& i, std::uint64_t& out) {
  const std::size_t start = i;
  out = 0;
  while (i < s.size() && is_digit(s[i])) {
    const auto d = static_cast<std::uint64_t>(s[i] - '0');
    if (out > (std::numeric_limits<std::uint64_t>::max() - d) / 10) {
      out = std::numeric_limits<std::uint64_t>::max();
    } else {
      out = out * 10 + d;
    }
    ++i;
  }
  return i > start;
}

/// Parses an unsigned decimal number with an optional fraction ("12", "1.5", ".5", "2.") at `i`.
/// Returns false if there is no digit at all.
bool parse_decimal(std::string_view s, std::size_t& i, double& out) {
  const std::size_t start = i;
  std::size_t digits = 0;
  while (i < s.size() && is_digit(s[i])) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && is_digit(s[i])) ++i, ++digits;
  }
  if (digits == 0) {
    i = start;
    return false;
  }
  double v = 0;
  const auto res = std::from_chars(s.data() + start, s.data() + i, v);
  if (res.ec != std::errc() || res.ptr != s.data() + i) {
    // Out of range (absurdly many digits): treat as infinite, rejected by the callers.
    v = std::numeric_limits<double>::infinity();
  }
  out = v;
  return true;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

[[noreturn]] void bad(std::string_view what, std::string_view spec, std::string_view why = {}) {
  std::string msg = "invalid ";
  msg += what;
  msg += " '";
  msg += spec;
  msg += "'";
  if (!why.empty()) {
    msg += ": ";
    msg += why;
  }
  throw UsageError(msg);
}

}  // namespace

std::size_t parse_jobs(std::string_view spec, std::size_t cpus, std::size_t unlimited) {
  constexpr std::string_view what = "number of jobs (-j)";
  if (spec.empty()) bad(what, spec);
  const std::size_t ncpu = cpus == 0 ? 1 : cpus;
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::size_t>::max() / 2);
  std::size_t i = 0;
  if (spec[0] == '+' || spec[0] == '-') {
    i = 1;
    std::uint64_t n = 0;
    if (!parse_digits(spec, i, n) || i != spec.size()) bad(what, spec);
    if (n > kMax) bad(what, spec, "too large");
    if (spec[0] == '+') return ncpu + static_cast<std::size_t>(n);
    return n >= ncpu ? 1 : ncpu - static_cast<std::size_t>(n);
  }
  if (spec.back() == '%') {
    double pct = 0;
    const std::string_view num = spec.substr(0, spec.size() - 1);
    if (!parse_decimal(num, i, pct) || i != num.size()) bad(what, spec);
    const double v = std::ceil(static_cast<double>(ncpu) * pct / 100.0);
    if (!(v < static_cast<double>(kMax))) bad(what, spec, "too large");
    return v < 1 ? 1 : static_cast<std::size_t>(v);
  }
  std::uint64_t n = 0;
  if (!parse_digits(spec, i, n) || i != spec.size()) bad(what, spec);
  if (n > kMax) bad(what, spec, "too large");
  if (n == 0) return unlimited;
  return static_cast<std::size_t>(n);
}

double parse_duration(std::string_view spec) {
  constexpr std::string_view what = "duration";
  if (spec.empty()) bad(what, spec);
  if (spec[0] == '-') bad(what, spec, "must not be negative");
  // A sum of terms: NUMBER [ms|s|m|h|d], e.g. "2.5", "300ms", "1h30m". Units are case-insensitive
  // (GNU parallel's multiply_time_units); a bare number counts seconds and must be the last term.
  double total = 0;
  std::size_t i = 0;
  while (i < spec.size()) {
    double v = 0;
    if (!parse_decimal(spec, i, v)) bad(what, spec);
    if (i == spec.size()) {
      total += v;
      break;
    }
    const char u = lower(spec[i]);
    if (u == 'm' && i + 1 < spec.size() && lower(spec[i + 1]) == 's') {
      total += v / 1000.0;
      i += 2;
    } else if (u == 's') {
      total += v;
      ++i;
    } else if (u == 'm') {
      total += v * 60;
      ++i;
    } else if (u == 'h') {
      total += v * 3600;
      ++i;
    } else if (u == 'd') {
      total += v * 86400;
      ++i;
    } else {
      bad(what, spec, "expected a number with an optional unit ms, s, m, h or d");
    }
  }
  if (!std::isfinite(total)) bad(what, spec, "too large");
  return total;
}

std::uint64_t parse_size(std::string_view spec) {
  constexpr std::string_view what = "size";
  if (spec.empty()) bad(what, spec);
  std::size_t i = 0;
  double v = 0;
  if (!parse_decimal(spec, i, v)) bad(what, spec);
  double mult = 1;
  if (i < spec.size()) {
    switch (lower(spec[i])) {
      case 'k': mult = 1024.0; break;
      case 'm': mult = 1024.0 * 1024; break;
      case 'g': mult = 1024.0 * 1024 * 1024; break;
      case 't': mult = 1024.0 * 1024 * 1024 * 1024; break;
      default: bad(what, spec, "expected a number with an optional suffix k, M, G or T");
    }
    ++i;
  }
  if (i != spec.size()) bad(what, spec, "expected a number with an optional suffix k, M, G or T");
  const double bytes = std::floor(v * mult);
  if (!(bytes < 18446744073709551616.0)) bad(what, spec, "too large");
  if (bytes < 1) bad(what, spec, "must be at least 1 byte");
  return static_cast<std::uint64_t>(bytes);
}

}  // namespace poolrun::core
