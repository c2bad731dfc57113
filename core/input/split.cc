// Cutting input into items and items into columns (see split.h).
#include "core/input/split.h"

#include <algorithm>

#include "core/errors.h"

namespace poolrun::core {

namespace {

bool is_octal(char c) { return c >= '0' && c <= '7'; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

[[noreturn]] void bad_delimiter(std::string_view spec, std::string_view why) {
  std::string msg = "invalid delimiter (-d) '";
  msg += spec;
  msg += "': ";
  msg += why;
  throw UsageError(msg);
}

// Perl's \s, which GNU parallel's --trim (implied by --colsep) strips.
bool is_perl_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string trimmed(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && is_perl_space(s[b])) ++b;
  while (e > b && is_perl_space(s[e - 1])) --e;
  return std::string(s.substr(b, e - b));
}

/// If `pattern` means a fixed string (no regex operator; escapes only of punctuation or of
/// \t \n \r \f \v), stores that string in `out` and returns true.
bool literal_pattern(const std::string& pattern, std::string& out) {
  if (pattern.empty()) return false;  // the empty regex splits between characters
  out.clear();
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    switch (c) {
      case '^': case '$': case '.': case '*': case '+': case '?': case '(': case ')': case '[':
      case '{': case '|':
        return false;
      // ']' and '}' without '[' or '{' are literal in Perl (ECMAScript may reject them).
      case '\\': {
        if (i + 1 >= pattern.size()) return false;
        const char n = pattern[++i];
        switch (n) {
          case 't': out.push_back('\t'); break;
          case 'n': out.push_back('\n'); break;
          case 'r': out.push_back('\r'); break;
          case 'f': out.push_back('\f'); break;
          case 'v': out.push_back('\v'); break;
          default: {
            const auto u = static_cast<unsigned char>(n);
            const bool alnum = (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') ||
                               (u >= 'A' && u <= 'Z') || n == '_';
            // \d, \s, \b, \1, \x41, \u... are regex features; \. \| \\ etc. are literal.
            if (alnum || u >= 0x80) return false;
            out.push_back(n);
          }
        }
        break;
      }
      default:
        out.push_back(c);
    }
  }
  return true;
}

}  // namespace

std::string parse_delimiter(std::string_view spec) {
  if (spec.empty()) bad_delimiter(spec, "the delimiter must not be empty");
  std::string out;
  out.reserve(spec.size());
  for (std::size_t i = 0; i < spec.size(); ++i) {
    const char c = spec[i];
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (i + 1 >= spec.size()) bad_delimiter(spec, "a trailing backslash (write \\\\ for one)");
    const char e = spec[++i];
    switch (e) {
      case 'n': out.push_back('\n'); break;
      case 't': out.push_back('\t'); break;
      case 'r': out.push_back('\r'); break;
      case 'a': out.push_back('\a'); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'v': out.push_back('\v'); break;
      case 'e': out.push_back('\x1b'); break;
      case '\\': out.push_back('\\'); break;
      case 'x': {
        int v = 0, n = 0;
        while (n < 2 && i + 1 < spec.size() && hex_value(spec[i + 1]) >= 0) {
          v = v * 16 + hex_value(spec[++i]);
          ++n;
        }
        if (n == 0) bad_delimiter(spec, "\\x must be followed by hex digits");
        out.push_back(static_cast<char>(v));
        break;
      }
      default:
        if (is_octal(e)) {
          // \0 is NUL; as GNU parallel, \NNN (up to 3 octal digits) is that byte.
          int v = e - '0', n = 1;
          while (n < 3 && i + 1 < spec.size() && is_octal(spec[i + 1])) {
            v = v * 8 + (spec[++i] - '0');
            ++n;
          }
          if (v > 0xff) bad_delimiter(spec, "octal escape out of range");
          out.push_back(static_cast<char>(v));
        } else {
          bad_delimiter(spec, std::string("unknown escape \\") + e);
        }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

ItemSplitter::ItemSplitter(std::string delimiter) : delim_(std::move(delimiter)) {
  if (delim_.empty()) throw UsageError("the item delimiter must not be empty");
}

void ItemSplitter::feed(std::string_view bytes) {
  if (bytes.empty()) return;
  if (pos_ == buf_.size()) {
    // Everything was taken: restart the buffer (keeps its capacity).
    buf_.clear();
    scan_ = 0;
    pos_ = 0;
  } else if (pos_ > 0 && pos_ >= buf_.size() / 2) {
    // Compact only when the taken prefix is at least half the buffer, so each byte is moved
    // O(1) times on average (no O(n^2) erasing item by item).
    buf_.erase(0, pos_);
    scan_ -= pos_;
    pos_ = 0;
  }
  buf_.append(bytes);
}

bool ItemSplitter::next(std::string& item) {
  const std::string_view view(buf_);
  std::size_t from = std::max(scan_, pos_);
  const std::size_t hit =
      delim_.size() == 1 ? view.find(delim_[0], from) : view.find(delim_, from);
  if (hit == std::string_view::npos) {
    // Resume where a delimiter split across feeds could still start.
    const std::size_t keep = delim_.size() - 1;
    scan_ = std::max(pos_, buf_.size() >= keep ? buf_.size() - keep : std::size_t{0});
    return false;
  }
  item.assign(buf_, pos_, hit - pos_);
  pos_ = hit + delim_.size();
  scan_ = pos_;
  return true;
}

bool ItemSplitter::finish(std::string& item) {
  if (pos_ >= buf_.size()) {
    buf_.clear();
    pos_ = scan_ = 0;
    return false;
  }
  item.assign(buf_, pos_, std::string::npos);
  buf_.clear();
  pos_ = scan_ = 0;
  return true;
}

// ---------------------------------------------------------------------------------------------

ColumnSplitter::ColumnSplitter(const std::string& colsep, bool trim) : trim_(trim) {
  std::string lit;
  if (literal_pattern(colsep, lit)) {
    plain_ = std::move(lit);
    return;
  }
  try {
    re_.emplace(colsep, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    throw UsageError("invalid column separator (--colsep) '" + colsep + "': " + e.what());
  }
}

std::vector<std::string> ColumnSplitter::split(const std::string& item) const {
  std::vector<std::string> cols;
  auto add = [&](std::string_view s) {
    if (trim_) {
      cols.push_back(trimmed(s));
    } else {
      cols.emplace_back(s);
    }
  };
  if (item.empty()) {
    cols.emplace_back();
    return cols;
  }
  const std::string_view view(item);
  if (!re_) {
    std::size_t start = 0;
    for (;;) {
      const std::size_t hit = view.find(plain_, start);
      if (hit == std::string_view::npos) break;
      add(view.substr(start, hit - start));
      start = hit + plain_.size();
    }
    add(view.substr(start));
    return cols;
  }
  // Perl's split(/re/, $item, -1): a separator match must end after the start of the current
  // field (so an empty match right at the field start does not count: "" splits between
  // characters, with no leading empty field); capture groups become extra columns; the rest after
  // the last separator is always the last column (even empty).
  const auto begin = item.cbegin();
  const auto end = item.cend();
  const auto at = [&](std::size_t off) { return begin + static_cast<std::ptrdiff_t>(off); };
  std::size_t start = 0;
  std::smatch m;
  while (start < item.size()) {
    const auto prev = start > 0 ? std::regex_constants::match_prev_avail
                                : std::regex_constants::match_default;
    std::size_t base = start;  // where the search for `m` began
    bool found = std::regex_search(at(base), end, m, *re_, prev);
    if (found && m.length(0) == 0 && m.position(0) == 0) {
      // Empty match at the field start: take a non-empty match there, else search further on.
      found = std::regex_search(at(base), end, m, *re_,
                                prev | std::regex_constants::match_continuous |
                                    std::regex_constants::match_not_null);
      if (!found) {
        base = start + 1;
        found = std::regex_search(at(base), end, m, *re_, std::regex_constants::match_prev_avail);
      }
    }
    if (!found) break;
    const std::size_t mstart = base + static_cast<std::size_t>(m.position(0));
    add(view.substr(start, mstart - start));
    for (std::size_t g = 1; g < m.size(); ++g) add(m[g].matched ? m.str(g) : std::string());
    start = mstart + static_cast<std::size_t>(m.length(0));
  }
  add(view.substr(std::min(start, item.size())));
  return cols;
}

}  // namespace poolrun::core
