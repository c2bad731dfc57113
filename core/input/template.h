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
  /// Precisely: repeated once per value (= per record with one input source); see below.
  /// NB: GNU parallel 20221122 does context replace for -N too, not only for -X:
  /// `parallel -j1 -N2 echo pre{}post ::: a b c d` prints "preapost prebpost" (and -m -N2 too),
  /// while -m and -n2 alone print "prea bpost".
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
///
/// Details, all as GNU parallel 20221122 does them:
///  - The words are joined with single spaces; their literal text is shell text, passed as is
///    (so `poolrun 'echo a; echo' {}` runs two commands, and the word "a b" is two words to sh).
///  - {.} removes the last "." and what follows it when no "/" follows it (".bashrc" -> "",
///    "a.b/c" -> "a.b/c", "x.tar.gz" -> "x.tar", "dir/" -> "dir/"); {/} removes everything up to the
///    last "/" ("dir/" -> ""); {//} is POSIX dirname ("a/b/" -> "a", "/" -> "/", "file" -> ".",
///    "" -> "."). They work on bytes, so UTF-8 is safe. (One deliberate difference: GNU parallel's
///    {/} is Perl's s:.*/:: whose "." stops at a newline, so for "x/\n/y" it gives "\n/y"; here
///    {/} is always what follows the last "/", "y".)
///  - {n} also takes leading zeros ({01} is {1}), and {-n} counts from the end ({-1} is the last
///    value). {0} is literal. A position past the end substitutes nothing at all (an unquoted empty
///    string: `echo {3} x` with two values runs `echo  x`). With zero values, every field
///    substitutes one empty value ('').
///  - {#} and {%} are never repeated by -X (they count as positional), they are plain numbers.
///  - With -I STR, STR replaces {}; {.} {/} {//} {/.} {#} {%} and {n.} {n/} {n//} {n/.} keep their
///    names, but the plain positional {n} is derived from STR as GNU parallel does: "{" n followed
///    by STR without its first byte, and only when STR starts with "{" (-I '{x}' gives {1x};
///    with -I @@ there is no plain {n} and "{1}" is literal). {name} always works.
///  - {name} {name.} {name/} {name//} {name/.} are positional fields for the names of opt.names.
///  - -X (context_replace): a "context group" is a maximal run of non-blank text (blank = space or
///    tab, in the literal text or between words) holding a non-positional field ({} {.} {/} {//}
///    {/.}); such a group is repeated once per value (per record when there is one input source),
///    separated by spaces: `pre{}post` with a b -> `preapost prebpost`. Positional fields and {#}
///    {%} inside a repeated group keep their one value. Groups without such a field are emitted once.
///    (GNU parallel -N also behaves like this; -m and -n do not.)
///  - Without -X, a non-positional field expands to all values, each quoted, joined by spaces:
///    `pre{}post` with a b -> `prea bpost` (two shell words, "prea" and "bpost").
///  - Raw mode: when a field occurs in the first word of the line (before the first space, tab,
///    newline or "="), e.g. `poolrun {} ::: 'echo a'` or `poolrun {1} {2} ::: cmd ::: arg`, GNU
///    parallel does not quote any value (the values are meant to be shell code), and neither does
///    render_shell(); such a template is never direct-exec. Same as the no-command mode.
class CommandTemplate {
 public:
  /// Parses the command words (as given on poolrun's command line). An empty `words` means each
  /// record is itself the command line (GNU parallel with no command): the template is "{}" with
  /// values not quoted. Throws UsageError for an empty command word list with -I given, etc.
  /// (also for an empty -I string).
  static CommandTemplate parse(const std::vector<std::string>& words, const TemplateOptions& opt);

  /// The shell command line for a job: the words joined by spaces, each substituted value quoted
  /// with shell_quote(), so the line can be passed to `sh -c`.
  std::string render_shell(const JobInput& in) const;

  /// The words joined by spaces with values substituted as they are, not quoted (--tagstring).
  std::string render_raw(const JobInput& in) const;

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
  /// base_cost() + the sum of record_cost() of a job's records bounds both the `sh -c LINE` argv
  /// and the direct argv. Costs 0 for an empty record. One approximation: a positional field
  /// inside a group that -X repeats (`x{1}{}`) is counted with this record's longest value.
  /// Cheap enough to call once per record, but not once per record per record: keep a running sum.
  std::size_t record_cost(const Record& r) const;

  /// Bytes of the line with zero records (literal parts, shell and pointer overhead), counting
  /// {#} and {%} as 20 digits.
  std::size_t base_cost() const;

  /// Implementation detail: literal text, blanks, or a field.
  struct Part {
    enum class Kind : unsigned char {
      Text,      ///< literal text without space or tab
      Blank,     ///< literal spaces/tabs, or the " " that joins two words: separates shell words
      Value,     ///< {} (or -I STR), {.}, {/}, {//}, {/.}: every value (repeated by -X)
      Position,  ///< {n}, {n.}, ..., {name}: one value
      Seq,       ///< {#}
      Slot,      ///< {%}
    };
    enum class Op : unsigned char { None, NoExt, Base, Dir, BaseNoExt };
    Kind kind = Kind::Text;
    Op op = Op::None;
    long long pos = 0;  ///< Position: 1-based index, or negative to count from the end
    std::string text;   ///< Text/Blank: the literal bytes
  };

  /// Implementation detail: a run of parts [begin, end) between blanks (a -X context group), or a
  /// single Blank part.
  struct Group {
    std::size_t begin = 0;
    std::size_t end = 0;
    bool repeat = false;  ///< holds a Value field: -X repeats it per value
  };

 private:
  template <class Sink>
  void emit(const JobInput& in, Sink& sink) const;

  std::vector<Part> parts_;    // the words, joined by Blank parts
  std::vector<Group> groups_;  // parts_ cut at blanks
  bool raw_ = false;        // values not quoted: no-command mode, or a field in the first word
  bool has_repl_ = false;
  bool direct_ = false;
  bool context_ = false;
  bool uses_slot_ = false;
};

}  // namespace poolrun::core
