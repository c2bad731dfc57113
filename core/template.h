// Command templates with GNU parallel's replacement strings.
#pragma once
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace poolrun::core {

/// One input record: its values, one per input source (or per --colsep column).
using Record = std::vector<std::string>;

/// What a job substitutes: one or more records (-N/-X give several), plus its numbers.
struct JobInput {
  std::vector<Record> records;
  std::size_t seq = 1;   ///< {#}: job sequence number, from 1
  std::size_t slot = 1;  ///< {%}: job slot, 1..jobs
};

/// How a template reads: -I, --header names, and -X's context replace.
struct TemplateOptions {
  std::string replace = "{}";  ///< -I STR renames {} (only {}; {.} etc. keep their names)
  /// --header: column name -> position (1-based), so {name} works like {n}.
  std::map<std::string, std::size_t> names;
  /// -X: a word holding a replacement string is repeated once per record (context replace);
  /// without it, several records join with spaces inside the one word (as GNU parallel -m/-N).
  bool context_replace = false;
};

/// A parsed command template. Replacement strings (GNU parallel): {} {.} {/} {//} {/.} {#} {%}
/// and positional {n} {n.} {n/} {n//} {n/.}, n >= 1; plus {name} with --header.
///  - {} is every value of every record, each quoted, joined by spaces.
///  - {n} is the n-th value when the values of all records are laid end to end; a position past
///    the end substitutes the empty string.
///  - {.} drops the extension of the last path component, {/} is the basename, {//} the dirname
///    ("." when there is no slash, as GNU parallel), {/.} the basename without extension.
///  - Braces that do not form a replacement string are literal. Values are substituted once: a
///    "{}" inside a value stays literal.
/// If the words hold no replacement string, " {}" is appended (the items become the last args).
class CommandTemplate {
 public:
  /// Parses the command words (as given on poolrun's command line). An empty `words` means each
  /// record is itself the command line (GNU parallel with no command): the template is "{}" with
  /// values not quoted. Throws UsageError for an empty command word list with -I given, etc.
  static CommandTemplate parse(const std::vector<std::string>& words, const TemplateOptions& opt);

  /// The shell command line for a job: the words joined by spaces, each substituted value quoted
  /// with shell_quote(), so the line can be passed to `sh -c`.
  std::string render_shell(const JobInput& in) const;

  /// True when the command needs no shell: no shell syntax in the literal text, the first word is
  /// literal and not a shell builtin or keyword, and values are quoted (not the no-command mode).
  bool direct_exec_possible() const;

  /// The argv for direct exec (only when direct_exec_possible()): same words the shell would have
  /// produced from render_shell(). argv[0] is the command word as written (not resolved).
  std::vector<std::string> render_argv(const JobInput& in) const;

  /// True if any replacement string occurs in the (original) words.
  bool has_replacements() const;

  /// True if {%} or {#} occur (the line depends on slot/seq).
  bool uses_slot() const;

  /// Upper bound of the bytes the kernel counts for one more record in a -X/-m line
  /// (quoted length + separators + pointer size). Used to pack -X lines under ARG_MAX.
  std::size_t record_cost(const Record& r) const;

  /// Bytes of the line with zero records (literal parts, shell and pointer overhead).
  std::size_t base_cost() const;

  struct Part;  ///< implementation detail: literal text or a field

 private:
  std::vector<std::vector<Part>> words_;
  bool raw_ = false;        // no-command mode
  bool has_repl_ = false;
  bool direct_ = false;
  bool context_ = false;
  bool uses_slot_ = false;
};

}  // namespace poolrun::core
