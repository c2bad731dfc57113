// Shell quoting: how a value becomes one literal word of a /bin/sh command line.
#pragma once
#include <string>
#include <string_view>

namespace poolrun::core {

/// Returns `value` quoted for a POSIX shell so that it reaches the command as exactly one word,
/// byte for byte, with nothing expanded or executed. Values made only of [A-Za-z0-9_@%+=:,./-]
/// (and not empty) are returned unchanged; others are wrapped in single quotes with each ' written
/// as '"'"'. "" becomes ''. Works on any bytes (UTF-8 or not, newlines, tabs).
/// Exception: a value that reads as an assignment, NAME=... with NAME a shell name ("X=1",
/// "a_b=c d"), is quoted too ('X=1'), so that it stays a word even in command position (as in
/// `true; {}`); "1=2", "=x" or "a.b=c" stay unchanged. (GNU parallel quotes every value with "=".)
std::string shell_quote(std::string_view value);

/// True if `text` (literal text of a command template, i.e. outside substituted values) uses any
/// shell syntax: quotes, backslash, $, `, ;, &, |, <, >, (, ), {, }, [, ], *, ?, ~, #, !, newline, or
/// an assignment word at the start. Whitespace between words is not syntax.
bool has_shell_syntax(std::string_view text);

/// True if `word` as the first word of a command must be run by a shell: a shell keyword or a
/// builtin that has no equivalent program on PATH or behaves differently from one
/// (cd, exit, export, set, ., :, eval, exec, source, if, for, while, case, time, echo, printf, ...).
bool is_shell_builtin(std::string_view word);

}  // namespace poolrun::core
