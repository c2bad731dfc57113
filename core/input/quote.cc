// Shell quoting (see quote.h).
#include "core/input/quote.h"

#include <algorithm>
#include <iterator>

namespace poolrun::core {

namespace {

constexpr bool is_safe_char(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '@' || c == '%' || c == '+' || c == '=' || c == ':' || c == ',' || c == '.' ||
         c == '/' || c == '-';
}

constexpr bool is_name_start(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

constexpr bool is_name_char(unsigned char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

/// True if `text` starts with NAME= (a shell assignment word when in command position).
bool starts_with_assignment(std::string_view text) {
  if (text.empty() || !is_name_start(static_cast<unsigned char>(text[0]))) return false;
  for (std::size_t i = 1; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '=') return true;
    if (!is_name_char(c)) return false;
  }
  return false;
}

constexpr bool is_syntax_char(unsigned char c) {
  switch (c) {
    case '\'': case '"': case '\\': case '$': case '`': case ';': case '&': case '|': case '<':
    case '>': case '(': case ')': case '{': case '}': case '[': case ']': case '*': case '?':
    case '~': case '#': case '!': case '\n':
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string shell_quote(std::string_view value) {
  if (value.empty()) return "''";
  const bool safe = std::all_of(value.begin(), value.end(),
                                [](char c) { return is_safe_char(static_cast<unsigned char>(c)); });
  // A safe value that reads as NAME=... would be an assignment (not a command) if it ended up in
  // command position (e.g. "true; {}"); quote it so it stays a plain word, as GNU parallel does.
  if (safe && !starts_with_assignment(value)) return std::string(value);
  std::string out;
  out.reserve(value.size() + 2 + 4 * static_cast<std::size_t>(std::count(value.begin(), value.end(), '\'')));
  out.push_back('\'');
  for (char c : value) {
    if (c == '\'') {
      out += "'\"'\"'";
    } else {
      out.push_back(c);
    }
  }
  out.push_back('\'');
  return out;
}

bool has_shell_syntax(std::string_view text) {
  for (char c : text) {
    if (is_syntax_char(static_cast<unsigned char>(c))) return true;
  }
  // An assignment word at the start ("FOO=bar cmd") changes the environment, not argv.
  std::size_t i = 0;
  while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
  return starts_with_assignment(text.substr(i));
}

bool is_shell_builtin(std::string_view word) {
  // Keywords, special builtins, and builtins that either have no program on PATH, act on the
  // shell itself (cwd, environment, jobs), or behave differently from the program of that name.
  static constexpr std::string_view kWords[] = {
      "!",        "[[",      "]]",       "{",        "}",        "case",     "do",
      "done",     "elif",    "else",     "esac",     "fi",       "for",      "function",
      "if",       "in",      "select",   "then",     "time",     "until",    "while",
      "coproc",   ".",       ":",        "break",    "continue", "eval",     "exec",
      "exit",     "export",  "readonly", "return",   "set",      "shift",    "times",
      "trap",     "unset",   "alias",    "unalias",  "bg",       "fg",       "jobs",
      "cd",       "command", "getopts",  "hash",     "read",     "type",     "ulimit",
      "umask",    "wait",    "source",   "declare",  "typeset",  "local",    "let",
      "shopt",    "pushd",   "popd",     "dirs",     "builtin",  "enable",   "history",
      "fc",       "disown",  "echo",     "printf",   "test",     "[",        "pwd",
      "kill",     "logout",   "mapfile",  "readarray", "suspend", "caller",   "compgen",
      "complete", "compopt", "bind",     "help",     "newgrp",
  };
  return std::find(std::begin(kWords), std::end(kWords), word) != std::end(kWords);
}

}  // namespace poolrun::core
