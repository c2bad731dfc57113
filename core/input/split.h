// Cutting input into items, and items into columns (GNU parallel's -d, -0, --colsep).
#pragma once
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace poolrun::core {

/// Parses the argument of -d/--delimiter into the bytes it stands for.
/// Takes C escapes as GNU parallel does: \n \t \r \0 \\ \a \b \f \v \e and \xHH; "\r\n" is two bytes.
/// Also \NNN (1 to 3 octal digits, as GNU parallel's \0 and \ddd). Bytes outside escapes stand for
/// themselves; an unknown escape ("\q") or a lone trailing backslash is an error.
/// Returns a non-empty byte string. Throws UsageError for an empty delimiter or a bad escape.
std::string parse_delimiter(std::string_view spec);

/// Incremental splitter of a byte stream into items ended by a delimiter (default "\n").
/// Semantics as GNU parallel: an empty record between two delimiters is an empty item; the last
/// record without a trailing delimiter is still an item (even "0"); "\r" is data unless it is part of
/// the delimiter. Multi-byte delimiters may be split across feed() calls. Memory: holds only the
/// bytes of the current incomplete item plus complete items not yet taken (plus, at most, as many
/// bytes again of already-taken items: the buffer is compacted lazily, when the taken prefix is at
/// least half of it, so that splitting is linear in the input size).
/// Throws UsageError for an empty delimiter.
class ItemSplitter {
 public:
  explicit ItemSplitter(std::string delimiter = "\n");

  /// Appends bytes read from the source.
  void feed(std::string_view bytes);

  /// Moves the next complete item into `item`. Returns false when none is complete yet.
  bool next(std::string& item);

  /// Call once at end of input, after next() returned false: yields the last, unterminated item if
  /// any bytes remain. Returns false when there is none.
  bool finish(std::string& item);

  /// Bytes fed but not yet taken as items (the incomplete item, and complete ones not taken).
  std::size_t pending_bytes() const { return buf_.size() - pos_; }

 private:
  std::string delim_;
  std::string buf_;
  std::size_t pos_ = 0;   // start of the first untaken byte in buf_
  std::size_t scan_ = 0;  // where the delimiter search resumes
};

/// Splits one item into columns with --colsep. `colsep` is a regular expression (ECMAScript) as in
/// GNU parallel; a pattern without regex metacharacters is matched as a plain string (faster).
/// Returns at least one column ("" for an empty item). Throws UsageError for an invalid regex
/// (from the constructor).
/// As GNU parallel (which splits with Perl's split(/colsep/, $item, -1)):
///  - trailing empty columns are kept ("a,b," -> a, b, ""), and so are empty ones in between;
///  - a regex that matches the empty string splits between characters, with no leading empty
///    column ("" or "|": "a,b" -> a , b "");
///  - text captured by groups in the regex is returned as extra columns ("(b)" on "abc" -> a b c);
///  - with `trim` (the default: --colsep implies GNU parallel's --trim lr) spaces, tabs, CR, LF, FF
///    and VT are stripped from both ends of each column (" a , b " with "," -> "a", "b").
class ColumnSplitter {
 public:
  explicit ColumnSplitter(const std::string& colsep, bool trim = true);
  std::vector<std::string> split(const std::string& item) const;

 private:
  std::string plain_;              // the separator when it is a fixed string (re_ is empty then)
  std::optional<std::regex> re_;
  bool trim_ = true;
};

}  // namespace poolrun::core
