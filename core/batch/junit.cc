#include "core/batch/junit.h"

#include <fmt/chrono.h>
#include <fmt/format.h>

#include <csignal>
#include <ctime>


namespace poolrun::core {

namespace {

/// Length of the ANSI escape sequence starting at s[i] (s[i] is ESC), or 0 if it is none.
/// CSI (ESC [ params intermediates final) and the two-byte forms (ESC + 0x40..0x5F); OSC
/// (ESC ] ... BEL or ESC \) as terminals use for titles and links.
std::size_t ansi_length(std::string_view s, std::size_t i) {
  if (i + 1 >= s.size()) return 1;
  unsigned char c = static_cast<unsigned char>(s[i + 1]);
  if (c == '[') {
    std::size_t j = i + 2;
    while (j < s.size() && static_cast<unsigned char>(s[j]) >= 0x20 && static_cast<unsigned char>(s[j]) <= 0x3f) ++j;
    if (j < s.size() && static_cast<unsigned char>(s[j]) >= 0x40 && static_cast<unsigned char>(s[j]) <= 0x7e)
      return j + 1 - i;
    return 1;
  }
  if (c == ']') {
    for (std::size_t j = i + 2; j < s.size(); ++j) {
      if (s[j] == '\a') return j + 1 - i;
      if (s[j] == '\x1b' && j + 1 < s.size() && s[j + 1] == '\\') return j + 2 - i;
    }
    return 1;
  }
  if (c >= 0x40 && c <= 0x5f) return 2;
  return 1;
}

/// Decodes one UTF-8 sequence at s[i]. Returns its length and the code point, or length 0 when
/// the bytes there are not valid UTF-8 (overlong, surrogate, past U+10FFFF, cut short).
std::size_t utf8_decode(std::string_view s, std::size_t i, char32_t& cp) {
  auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  std::size_t len;
  char32_t min;
  if (c >= 0xc2 && c <= 0xdf) len = 2, cp = c & 0x1f, min = 0x80;
  else if (c >= 0xe0 && c <= 0xef) len = 3, cp = c & 0x0f, min = 0x800;
  else if (c >= 0xf0 && c <= 0xf4) len = 4, cp = c & 0x07, min = 0x10000;
  else return 0;
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (b(i + k) & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return len;
}

std::string format_time(double s) { return fmt::format("{:.3f}", s < 0 ? 0.0 : s); }

std::string iso_local(double unix_s) {
  std::time_t t = static_cast<std::time_t>(unix_s);
  return fmt::format("{:%Y-%m-%dT%H:%M:%S}", fmt::localtime(t));
}

const char* signal_name(int sig) {
  switch (sig) {
    case SIGHUP: return "SIGHUP";
    case SIGINT: return "SIGINT";
    case SIGQUIT: return "SIGQUIT";
    case SIGILL: return "SIGILL";
    case SIGABRT: return "SIGABRT";
    case SIGBUS: return "SIGBUS";
    case SIGFPE: return "SIGFPE";
    case SIGKILL: return "SIGKILL";
    case SIGSEGV: return "SIGSEGV";
    case SIGPIPE: return "SIGPIPE";
    case SIGALRM: return "SIGALRM";
    case SIGTERM: return "SIGTERM";
    case SIGUSR1: return "SIGUSR1";
    case SIGUSR2: return "SIGUSR2";
    default: return nullptr;
  }
}

}  // namespace

std::string xml_escape(std::string_view s, bool attribute) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (std::size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;  // also keeps "]]>" out of text
        case '"': out += attribute ? "&quot;" : "\""; break;
        case '\'': out += attribute ? "&apos;" : "'"; break;
        case '\r': out += "&#13;"; break;  // parsers turn a raw CR (and CRLF) into LF
        case '\n': out += attribute ? "&#10;" : "\n"; break;  // attributes: normalised to space
        case '\t': out += attribute ? "&#9;" : "\t"; break;
        case 0x1b: i += ansi_length(s, i - 1) - 1; break;
        default:
          if (c >= 0x20) out += static_cast<char>(c);  // other C0 controls: not allowed in XML 1.0
      }
      continue;
    }
    char32_t cp = 0;
    std::size_t len = utf8_decode(s, i, cp);
    if (len == 0) {
      out += "\xef\xbf\xbd";  // U+FFFD
      ++i;
      continue;
    }
    if (cp != 0xfffe && cp != 0xffff) out.append(s.substr(i, len));
    i += len;
  }
  return out;
}

std::string failure_words(const JobRecord& rec, bool detailed) {
  if (rec.timed_out) return detailed ? fmt::format("timed out after {:.2f}s", rec.duration_s) : "timed out";
  if (!rec.spawn_error.empty()) return detailed ? "could not start: " + rec.spawn_error : "could not start";
  if (rec.signal) {
    const char* n = signal_name(rec.signal);
    return n ? fmt::format("killed by {}", n) : fmt::format("killed by signal {}", rec.signal);
  }
  return fmt::format("exit {}", rec.exit_code);
}

JUnitCase junit_case(const JobRecord& rec, bool allow_failure) {
  JUnitCase c;
  c.name = rec.name;
  c.time_s = rec.duration_s;
  if (rec.status == "skipped") {
    c.result = JUnitCase::Result::Skipped;
    c.message = rec.reason;
    return c;
  }
  if (!rec.failed()) return c;
  c.result = JUnitCase::Result::Failed;
  c.type = rec.timed_out ? "timeout" : !rec.spawn_error.empty() ? "spawn" : rec.signal ? "signal" : "exit";
  c.message = failure_words(rec, true);
  if (allow_failure) c.message += " (allowed to fail)";
  c.details = "command: " + rec.command + "\n" + fmt::format("attempts: {}\n", rec.attempts);
  return c;
}

std::string junit_xml(const JUnitSuite& suite) {
  std::size_t failures = 0, skipped = 0;
  for (const auto& c : suite.cases) {
    if (c.result == JUnitCase::Result::Failed) ++failures;
    if (c.result == JUnitCase::Result::Skipped) ++skipped;
  }
  auto attr = [](std::string_view v) { return xml_escape(v, true); };
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  std::string counts = fmt::format("tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\" time=\"{}\"",
                                   suite.cases.size(), failures, skipped, format_time(suite.time_s));
  x += fmt::format("<testsuites name=\"{}\" {}>\n", attr(suite.name), counts);
  x += fmt::format("  <testsuite name=\"{}\" {} timestamp=\"{}\" hostname=\"{}\">\n", attr(suite.name), counts,
                   iso_local(suite.timestamp), attr(suite.hostname.empty() ? "localhost" : suite.hostname));
  for (const auto& c : suite.cases) {
    x += fmt::format("    <testcase name=\"{}\" classname=\"{}\" time=\"{}\"", attr(c.name), attr(suite.classname),
                     format_time(c.time_s));
    bool empty = c.result == JUnitCase::Result::Passed && !c.out && !c.err;
    if (empty) {
      x += "/>\n";
      continue;
    }
    x += ">\n";
    if (c.result == JUnitCase::Result::Failed)
      x += fmt::format("      <failure message=\"{}\" type=\"{}\">{}</failure>\n", attr(c.message), attr(c.type),
                       xml_escape(c.details));
    if (c.result == JUnitCase::Result::Skipped) x += fmt::format("      <skipped message=\"{}\"/>\n", attr(c.message));
    if (c.out) x += "      <system-out>" + xml_escape(*c.out) + "</system-out>\n";
    if (c.err) x += "      <system-err>" + xml_escape(*c.err) + "</system-err>\n";
    x += "    </testcase>\n";
  }
  x += "  </testsuite>\n</testsuites>\n";
  return x;
}

}  // namespace poolrun::core
