// Tests of core/quote: shell_quote, has_shell_syntax, is_shell_builtin.
#include <catch2/catch.hpp>

#include "test_util.h"

#include <cstdio>
#include <string>
#include <vector>

#include "core/input/quote.h"

using poolrun::core::has_shell_syntax;
using poolrun::core::is_shell_builtin;
using poolrun::core::shell_quote;

namespace {

using poolrun::test::sh_output;

std::vector<std::string> nasty_values() {
  std::string all_bytes;
  for (int c = 1; c < 256; ++c) all_bytes.push_back(static_cast<char>(c));
  return {
      "\"",
      "it's",
      "'",
      "''",
      "'a'",
      "a  b",
      " lead",
      "trail ",
      "-n",
      "-e",
      "--",
      "$(echo PWNED)",
      "`echo PWNED`",
      "${HOME}",
      "$HOME",
      ";echo PWNED",
      "&& echo PWNED",
      "| cat",
      "a\tb",
      "a\nb",
      "\n",
      "\\",
      "a\\nb",
      "*",
      "?",
      "[a]",
      "~",
      "~root",
      "#comment",
      "!",
      "X=1",
      "a{}",
      "{}",
      "%s",
      "\xe4\xb8\xad\xe5\x9b\xbd.(\xe4\xb8\xad\xe5\x9b\xbd)",
      "dir/\xd1\x84\xd0\xb0\xd0\xb9\xd0\xbb.txt",
      "\xff\xfe not utf8",
      all_bytes,
  };
}

}  // namespace

TEST_CASE("shell_quote leaves safe values unchanged", "[quote]") {
  for (const char* v : {"abc", "ABC_123", "a/b.c", "-n", "--long-opt", "a@b%c+d:e,f", "./x",
                        "/", ".", "1", "=x", "/path/x=1", "9A=1", "a.b=c", "+"}) {
    CHECK(shell_quote(v) == v);
  }
}

TEST_CASE("shell_quote wraps other values in single quotes", "[quote]") {
  CHECK(shell_quote("") == "''");
  CHECK(shell_quote("a b") == "'a b'");
  CHECK(shell_quote("it's") == "'it'\"'\"'s'");
  CHECK(shell_quote("'") == "''\"'\"''");
  CHECK(shell_quote("$HOME") == "'$HOME'");
  CHECK(shell_quote("a\nb") == "'a\nb'");
  CHECK(shell_quote("a\tb") == "'a\tb'");
  CHECK(shell_quote("\xe4\xb8\xad") == "'\xe4\xb8\xad'");
  CHECK(shell_quote("*") == "'*'");
  CHECK(shell_quote("~") == "'~'");
  CHECK(shell_quote("{}") == "'{}'");
}

TEST_CASE("shell_quote quotes values that would read as an assignment", "[quote]") {
  // In command position NAME=value would be an assignment, not a word.
  CHECK(shell_quote("X=1") == "'X=1'");
  CHECK(shell_quote("_a9=") == "'_a9='");
  CHECK(shell_quote("a=b") == "'a=b'");
  CHECK(shell_quote("1=2") == "1=2");
  CHECK(shell_quote("a.b=c") == "a.b=c");
}

TEST_CASE("shell_quote output reaches sh as one literal word, byte for byte", "[quote][sh]") {
  for (const auto& v : nasty_values()) {
    INFO("value: " << v);
    const std::string out = sh_output("printf '[%s]\\n' " + shell_quote(v) + " 2>&1");
    CHECK(out == "[" + v + "]\n");
  }
}

TEST_CASE("shell_quote: all nasty values together stay separate words", "[quote][sh]") {
  std::string line = "printf '%s\\0'";
  std::string expected;
  for (const auto& v : nasty_values()) {
    line += ' ';
    line += shell_quote(v);
    expected += v;
    expected.push_back('\0');
  }
  CHECK(sh_output(line) == expected);
}

TEST_CASE("shell_quote: a quoted value in command position is not an assignment", "[quote][sh]") {
  // "X=1" as a command: sh must try to run a program named "X=1", not assign.
  const std::string out =
      sh_output("X=0; " + shell_quote("X=1") + " 2>/dev/null; printf '%s' \"$X\"");
  CHECK(out == "0");
}

TEST_CASE("has_shell_syntax", "[quote]") {
  for (const char* t : {"'", "\"", "\\", "$", "`", ";", "&", "|", "<", ">", "(", ")", "{", "}",
                        "[", "]", "*", "?", "~", "#", "!", "\n"}) {
    INFO("char: " << t);
    CHECK(has_shell_syntax(t));
    CHECK(has_shell_syntax(std::string("echo a") + t + "b"));
  }
  CHECK_FALSE(has_shell_syntax(""));
  CHECK_FALSE(has_shell_syntax("echo hello world"));
  CHECK_FALSE(has_shell_syntax("echo  \t a"));
  CHECK_FALSE(has_shell_syntax("/usr/bin/gzip -9 --keep file.txt"));
  CHECK_FALSE(has_shell_syntax("a@b%c+d=e:f,g.h/i-j_k"));
  CHECK_FALSE(has_shell_syntax("\xe4\xb8\xad\xe5\x9b\xbd"));
  CHECK_FALSE(has_shell_syntax("a\rb"));
  // Assignments: only at the start.
  CHECK(has_shell_syntax("FOO=bar cmd"));
  CHECK(has_shell_syntax("  FOO=bar cmd"));
  CHECK(has_shell_syntax("\tF_1= cmd"));
  CHECK(has_shell_syntax("X=1"));
  CHECK_FALSE(has_shell_syntax("cmd FOO=bar"));
  CHECK_FALSE(has_shell_syntax("dd if=a of=b"));
  CHECK_FALSE(has_shell_syntax("=x cmd"));
  CHECK_FALSE(has_shell_syntax("1X=2 cmd"));
  CHECK_FALSE(has_shell_syntax("./x=1"));
}

TEST_CASE("is_shell_builtin", "[quote]") {
  for (const char* w : {"cd",    "exit",  "export", "set",   ".",      ":",     "eval",
                        "exec",  "source", "if",    "for",   "while",  "case",  "time",
                        "echo",  "printf", "until", "!",     "{",      "[[",    "alias",
                        "umask", "ulimit", "read",  "wait",  "trap",   "unset", "return",
                        "shift", "local",  "type",  "command", "test", "[",     "fi",
                        "done",  "then",   "readonly", "break", "continue", "pwd"}) {
    INFO("word: " << w);
    CHECK(is_shell_builtin(w));
  }
  for (const char* w : {"", "ls", "grep", "/bin/echo", "/usr/bin/printf", "gzip", "sh", "bash",
                        "env", "true", "false", "sleep", "ECHO", "cd2", "./cd", "iff"}) {
    INFO("word: " << w);
    CHECK_FALSE(is_shell_builtin(w));
  }
}
