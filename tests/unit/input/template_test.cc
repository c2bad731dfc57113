// Tests of core/template: CommandTemplate. Expected lines come from GNU parallel 20221122
// (`parallel --dry-run ...`, and real runs through /bin/sh), noted next to each case.
#include <catch2/catch.hpp>

#include "test_util.h"

#include <cstdio>
#include <filesystem>
#include <unistd.h>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/input/quote.h"
#include "core/input/template.h"

using poolrun::UsageError;
using poolrun::core::CommandTemplate;
using poolrun::core::JobInput;
using poolrun::core::Record;
using poolrun::core::shell_quote;
using poolrun::core::TemplateOptions;
using Strings = std::vector<std::string>;

namespace {

CommandTemplate tmpl(const Strings& words, TemplateOptions opt = {}) {
  return CommandTemplate::parse(words, opt);
}

TemplateOptions xopt() {
  TemplateOptions o;
  o.context_replace = true;
  return o;
}

/// A job of one record.
JobInput one(const Record& values, std::size_t seq = 1, std::size_t slot = 1) {
  JobInput in;
  in.records.push_back(values);
  in.seq = seq;
  in.slot = slot;
  return in;
}

/// A job of several one-value records (-X/-m/-N with one input source).
JobInput each(const Strings& values, std::size_t seq = 1, std::size_t slot = 1) {
  JobInput in;
  for (const auto& v : values) in.records.push_back(Record{v});
  in.seq = seq;
  in.slot = slot;
  return in;
}

/// A job of several records.
JobInput records(const std::vector<Record>& recs) {
  JobInput in;
  in.records = recs;
  return in;
}

using poolrun::test::sh_output;

/// The words /bin/sh makes of `line` (a simple command without shell syntax).
Strings sh_words(const std::string& line) {
  const std::string out = sh_output("set -- " + line + "\nprintf '%s\\0' \"$@\"");
  Strings words;
  std::size_t start = 0;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if (out[i] == '\0') {
      words.push_back(out.substr(start, i - start));
      start = i + 1;
    }
  }
  return words;
}

Strings nasty_values() {
  return {"plain",
          "",
          "a b",
          "a  b",
          " ",
          "\"",
          "it's",
          "'",
          "-n",
          "-e",
          "$(echo PWNED)",
          "`echo PWNED`",
          "$HOME",
          ";echo PWNED",
          "| cat",
          "& echo PWNED",
          "a\tb",
          "a\nb",
          "\n",
          "\\",
          "*",
          "[ab]",
          "~",
          "#x",
          "X=1",
          "a{}",
          "b{{}}",
          "c{d}",
          "{.}",
          "{}",
          "{1}",
          "%s",
          "\xe4\xb8\xad\xe5\x9b\xbd.(\xe4\xb8\xad\xe5\x9b\xbd)",
          "dir/\xd1\x84\xd0\xb0\xd0\xb9\xd0\xbb.txt",
          "a\rb"};
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The examples of GNU parallel

TEST_CASE("template: GNU parallel basics", "[template]") {
  // parallel -k echo {//} ::: file a/b /x  ->  . a /
  const auto dir = tmpl({"echo", "{//}"});
  CHECK(dir.render_shell(one({"file"})) == "echo .");
  CHECK(dir.render_shell(one({"a/b"})) == "echo a");
  CHECK(dir.render_shell(one({"/x"})) == "echo /");

  // parallel --dry-run -k echo {.} ::: .bashrc a.b/c x.tar.gz
  const auto noext = tmpl({"echo", "{.}"});
  CHECK(noext.render_shell(one({".bashrc"})) == "echo ''");
  CHECK(noext.render_shell(one({"a.b/c"})) == "echo a.b/c");
  CHECK(noext.render_shell(one({"x.tar.gz"})) == "echo x.tar");

  // parallel -N2 -k echo {1} {2} ::: a b c d  ->  "a b", "c d"
  const auto pos = tmpl({"echo", "{1}", "{2}"});
  CHECK(pos.render_shell(each({"a", "b"})) == "echo a b");
  CHECK(pos.render_shell(each({"c", "d"})) == "echo c d");

  // parallel -k echo {} ::: a b ::: c d  ->  "a c", "a d", "b c", "b d"
  const auto all = tmpl({"echo", "{}"});
  CHECK(all.render_shell(one({"a", "c"})) == "echo a c");
  CHECK(all.render_shell(one({"b", "d"})) == "echo b d");

  // parallel -j1 -X --dry-run echo pre{}post ::: a b  ->  echo preapost prebpost
  CHECK(tmpl({"echo", "pre{}post"}, xopt()).render_shell(each({"a", "b"})) ==
        "echo preapost prebpost");
  // parallel -j1 -m --dry-run echo pre{}post ::: a b  ->  echo prea bpost
  CHECK(tmpl({"echo", "pre{}post"}).render_shell(each({"a", "b"})) == "echo prea bpost");
}

TEST_CASE("template: values are quoted", "[template]") {
  const auto t = tmpl({"echo", "{}"});
  CHECK(t.render_shell(one({"a b"})) == "echo 'a b'");
  CHECK(t.render_shell(one({"it's"})) == "echo 'it'\"'\"'s'");
  CHECK(t.render_shell(one({""})) == "echo ''");
  CHECK(t.render_shell(one({"a{}"})) == "echo 'a{}'");
  // -m: each value quoted on its own
  CHECK(t.render_shell(each({"a b", "c'd"})) == "echo 'a b' 'c'\"'\"'d'");
}

TEST_CASE("template: {} is appended when the command has no replacement string", "[template]") {
  const auto t = tmpl({"gzip", "-9"});
  CHECK_FALSE(t.has_replacements());
  CHECK(t.render_shell(one({"a b"})) == "gzip -9 'a b'");
  CHECK(t.render_argv(one({"a b"})) == Strings{"gzip", "-9", "a b"});
  CHECK(t.render_shell(one({"x", "y"})) == "gzip -9 x y");
  // -X without replacement string: all values as arguments (parallel -X echo ::: a b -> echo a b)
  CHECK(tmpl({"echo"}, xopt()).render_shell(each({"a", "b"})) == "echo a b");
  // parallel --dry-run echo '' ::: x  ->  "echo  x"
  CHECK(tmpl({"echo", ""}).render_shell(one({"x"})) == "echo  x");
}

// ---------------------------------------------------------------------------------------------
// {.} {/} {//} {/.}

namespace {
struct PathCase {
  const char* in;
  const char* noext;     // {.}
  const char* base;      // {/}
  const char* dir;       // {//}
  const char* basenoext; // {/.}
};
// From: parallel --dry-run -k echo R ::: <inputs>, for R in {.} {/} {//} {/.}
const PathCase kPathCases[] = {
    {".bashrc", "", ".bashrc", ".", ""},
    {"a.b/c", "a.b/c", "c", "a.b", "c"},
    {"x.tar.gz", "x.tar", "x.tar.gz", ".", "x.tar"},
    {"dir/", "dir/", "", ".", ""},
    {"a/b/", "a/b/", "", "a", ""},
    {"", "", "", ".", ""},
    {"\xe4\xb8\xad\xe5\x9b\xbd.(\xe4\xb8\xad\xe5\x9b\xbd)", "\xe4\xb8\xad\xe5\x9b\xbd",
     "\xe4\xb8\xad\xe5\x9b\xbd.(\xe4\xb8\xad\xe5\x9b\xbd)", ".", "\xe4\xb8\xad\xe5\x9b\xbd"},
    {"dir/\xd1\x84\xd0\xb0\xd0\xb9\xd0\xbb.txt", "dir/\xd1\x84\xd0\xb0\xd0\xb9\xd0\xbb",
     "\xd1\x84\xd0\xb0\xd0\xb9\xd0\xbb.txt", "dir", "\xd1\x84\xd0\xb0\xd0\xb9\xd0\xbb"},
    {"/", "/", "", "/", ""},
    {"//", "//", "", "/", ""},
    {"a//b", "a//b", "b", "a", "b"},
    {".", "", ".", ".", ""},
    {"..", ".", "..", ".", "."},
    {"a.b.c/.", "a.b.c/", ".", "a.b.c", ""},
    {"/x.y", "/x", "x.y", "/", "x"},
    {"a/.b", "a/", ".b", "a", ""},
    {"a.", "a", "a.", ".", "a"},
    {".a.b", ".a", ".a.b", ".", ".a"},
    {"./x", "./x", "x", ".", "x"},
    {"x/./y.z", "x/./y", "y.z", "x/.", "y"},
    {"//a", "//a", "a", "/", "a"},
    {"a/b//", "a/b//", "", "a", ""},
    {"a b/c d.e f", "a b/c d", "c d.e f", "a b", "c d"},
};
}  // namespace

TEST_CASE("template: {.} {/} {//} {/.} as GNU parallel", "[template][path]") {
  const auto t = tmpl({"cmd", "{.}", "{/}", "{//}", "{/.}"});
  const auto p = tmpl({"cmd", "{1.}", "{1/}", "{1//}", "{1/.}"});
  for (const auto& c : kPathCases) {
    INFO("input: '" << c.in << "'");
    const Strings expected{"cmd", c.noext, c.base, c.dir, c.basenoext};
    CHECK(t.render_argv(one({c.in})) == expected);
    CHECK(p.render_argv(one({c.in})) == expected);
    CHECK(sh_words(t.render_shell(one({c.in}))) == expected);
  }
}

TEST_CASE("template: positional path operations on several sources", "[template][path]") {
  // parallel -k --dry-run echo {1/} {1//} {1/.} {2.} {1} ::: x.y ::: p/q.r
  const auto t = tmpl({"echo", "{1/}", "{1//}", "{1/.}", "{2.}", "{1}"});
  CHECK(t.render_shell(one({"x.y", "p/q.r"})) == "echo x.y . x p/q x.y");
  const auto u = tmpl({"cmd", "{2/}", "{2//}", "{2/.}", "{-1.}"});
  CHECK(u.render_argv(one({"a", "d/e.f"})) == Strings{"cmd", "e.f", "d", "e", "d/e"});
}

// ---------------------------------------------------------------------------------------------
// Literal braces, values substituted once

TEST_CASE("template: values are substituted once", "[template]") {
  // parallel -k echo {} ::: 'a{}' 'b{{}}' 'c{d}' '{.}'  ->  a{} b{{}} c{d} {.}
  const auto t = tmpl({"echo", "{}"});
  for (const char* v : {"a{}", "b{{}}", "c{d}", "{.}", "{1}", "{#}", "{%}", "{//}"}) {
    CHECK(sh_output(t.render_shell(one({v}))) == std::string(v) + "\n");
    CHECK(tmpl({"cmd", "{}"}).render_argv(one({v})) == Strings{"cmd", v});
  }
  CHECK(tmpl({"cmd", "{1}{2}"}).render_argv(one({"{2}", "x"})) == Strings{"cmd", "{2}x"});
}

TEST_CASE("template: braces that are no replacement string stay literal", "[template]") {
  // parallel -k --dry-run echo {d} { } {} '{' '}' {{}} {01} {1.} {1..} {./} {a} ::: x.y
  //   -> echo {d} { } x.y { } {x.y} x.y x {1..} {./} {a}
  const auto t = tmpl({"echo", "{d}", "{", "}", "{}", "{", "}", "{{}}", "{01}", "{1.}", "{1..}",
                       "{./}", "{a}"});
  CHECK(t.render_shell(one({"x.y"})) == "echo {d} { } x.y { } {x.y} x.y x {1..} {./} {a}");
  CHECK(tmpl({"cmd", "{0}", "{-0}", "{-}", "{ }", "{1 }", "{}}", "{{"}).render_shell(one({"v"})) ==
        "cmd {0} {-0} {-} { } {1 } v} {{");
  const auto lit = tmpl({"echo", "{d}"});
  CHECK(lit.has_replacements() == false);
  CHECK(lit.render_shell(one({"v"})) == "echo {d} v");
}

// ---------------------------------------------------------------------------------------------
// Positional fields

TEST_CASE("template: positional fields", "[template][positional]") {
  const auto t = tmpl({"cmd", "{1}", "{2}", "{-1}", "{-2}", "{01}"});
  CHECK(t.render_argv(one({"a", "b c"})) == Strings{"cmd", "a", "b c", "b c", "a", "a"});
  // Past the end: nothing at all (GNU: parallel -N2 echo {1} {2} {3} {4} {5} ::: a b ::: c d
  //   -> "echo a c a d " with a trailing space)
  const auto p = tmpl({"echo", "{1}", "{2}", "{3}", "{4}", "{5}"});
  CHECK(p.render_shell(records({{"a", "c"}, {"a", "d"}})) == "echo a c a d ");
  CHECK(p.render_argv(records({{"a", "c"}, {"a", "d"}})) ==
        Strings{"echo", "a", "c", "a", "d"});
  CHECK(tmpl({"cmd", "x{3}y", "{-3}", "{99999999999999999999999}"}).render_argv(one({"a", "b"})) ==
        Strings{"cmd", "xy"});
  // -N2 with -X-like context: parallel -j1 -N2 echo pre{}post {1}{2} {3} ::: a b c d e
  const auto n = tmpl({"echo", "pre{}post", "{1}{2}", "{3}"}, xopt());
  CHECK(n.render_shell(each({"a", "b"})) == "echo preapost prebpost ab ");
  CHECK(n.render_shell(each({"e"})) == "echo preepost e ");
}

TEST_CASE("template: {n} counts values of all records laid end to end", "[template][positional]") {
  // parallel -j1 -N2 --dry-run echo {} ::: a b ::: c d  -> echo a c a d
  const auto in = records({{"a", "c"}, {"a", "d"}});
  CHECK(tmpl({"echo", "{}"}).render_shell(in) == "echo a c a d");
  CHECK(tmpl({"cmd", "{3}", "{4}", "{-4}"}).render_argv(in) == Strings{"cmd", "a", "d", "a"});
}

TEST_CASE("template: a job without values substitutes one empty value", "[template]") {
  JobInput empty;
  CHECK(tmpl({"cmd", "{}"}).render_shell(empty) == "cmd ''");
  CHECK(tmpl({"cmd", "{}", "{1}", "{.}"}).render_argv(empty) == Strings{"cmd", "", "", ""});
  CHECK(tmpl({"cmd", "{2}"}).render_argv(empty) == Strings{"cmd"});
  CHECK(tmpl({"cmd", "x{}"}, xopt()).render_argv(empty) == Strings{"cmd", "x"});
}

// ---------------------------------------------------------------------------------------------
// {#} {%}

TEST_CASE("template: {#} and {%}", "[template]") {
  const auto t = tmpl({"cmd", "{#}", "{%}", "{}", "job{#}-{%}"});
  CHECK(t.uses_slot());
  CHECK(t.has_replacements());
  CHECK(t.render_argv(one({"v"}, 42, 3)) == Strings{"cmd", "42", "3", "v", "job42-3"});
  CHECK(t.render_shell(one({"v"}, 42, 3)) == "cmd 42 3 v job42-3");
  const auto s = tmpl({"cmd", "{#}"});
  CHECK(s.uses_slot());
  // {#} alone is a replacement string: no {} appended
  CHECK(s.render_argv(one({"v"}, 7)) == Strings{"cmd", "7"});
  CHECK_FALSE(tmpl({"cmd", "{}"}).uses_slot());
  CHECK_FALSE(tmpl({"cmd", "{1}", "{.}"}).uses_slot());
}

// ---------------------------------------------------------------------------------------------
// -X (context replace) versus -m

TEST_CASE("template: -X repeats the word per value, -m joins values inside it", "[template][X]") {
  const auto X = [](const Strings& w) { return tmpl(w, xopt()); };
  const auto M = [](const Strings& w) { return tmpl(w); };
  const auto abc = each({"a", "b", "c"});
  // parallel -j1 -X echo pre{}post {#} {%} ::: a b c
  CHECK(X({"echo", "pre{}post", "{#}", "{%}"}).render_shell(abc) ==
        "echo preapost prebpost precpost 1 1");
  // parallel -j1 -m echo pre{}post {1} {2} x{2}y ::: a b c
  CHECK(M({"echo", "pre{}post", "{1}", "{2}", "x{2}y"}).render_shell(abc) ==
        "echo prea b cpost a b xby");
  // parallel -j1 -X echo pre{}post {1} {2} x{2}y ::: a b c
  CHECK(X({"echo", "pre{}post", "{1}", "{2}", "x{2}y"}).render_shell(abc) ==
        "echo preapost prebpost precpost a b xby");

  const auto two_sources = records({{"a", "c"}, {"a", "d"}, {"b", "c"}, {"b", "d"}});
  // parallel -j1 -X echo pre{}post ::: a b ::: c d
  CHECK(X({"echo", "pre{}post"}).render_shell(two_sources) ==
        "echo preapost precpost preapost predpost prebpost precpost prebpost predpost");
  // parallel -j1 -m echo pre{}post ::: a b ::: c d
  CHECK(M({"echo", "pre{}post"}).render_shell(two_sources) == "echo prea c a d b c b dpost");

  const auto xy = each({"a.x", "b.y"});
  CHECK(X({"echo", "pre{.}post"}).render_shell(xy) == "echo preapost prebpost");
  CHECK(X({"echo", "{}:{.}"}).render_shell(xy) == "echo a.x:a b.y:b");
  CHECK(X({"echo", "{}:{1}"}).render_shell(xy) == "echo a.x:a.x b.y:a.x");
  CHECK(X({"echo", "{#}{}"}).render_shell(xy) == "echo 1a.x 1b.y");
  CHECK(M({"echo", "{}:{.}"}).render_shell(xy) == "echo a.x b.y:a b");
  CHECK(M({"echo", "{#}{}"}).render_shell(xy) == "echo 1a.x b.y");

  const auto paths = each({"a/b.x", "c/d.y"});
  CHECK(M({"echo", "{//}", "{/.}"}).render_shell(paths) == "echo a c b d");
  CHECK(X({"echo", "{//}", "{/.}"}).render_shell(paths) == "echo a c b d");
  CHECK(X({"echo", "{1.}", "{2/}"}).render_shell(paths) == "echo a/b d.y");

  const auto quoted = each({"a b", "c'd"});
  CHECK(M({"echo", "{}"}).render_shell(quoted) == "echo 'a b' 'c'\"'\"'d'");
  CHECK(X({"echo", "x{}"}).render_shell(quoted) == "echo x'a b' x'c'\"'\"'d'");
  // parallel -j1 -X echo x{} ::: "a b" "c'd" ::: 1 2
  CHECK(X({"echo", "x{}"}).render_shell(records({{"a b", "1"}, {"a b", "2"}, {"c'd", "1"},
                                                 {"c'd", "2"}})) ==
        "echo x'a b' x1 x'a b' x2 x'c'\"'\"'d' x1 x'c'\"'\"'d' x2");
}

TEST_CASE("template: -X context groups are cut at blanks inside a word", "[template][X]") {
  const auto t = tmpl({"echo pre{}post  x{}y\tz"}, xopt());
  CHECK(t.render_shell(each({"a", "b"})) == "echo preapost prebpost  xay xby\tz");
  CHECK(t.render_argv(each({"a", "b"})) ==
        Strings{"echo", "preapost", "prebpost", "xay", "xby", "z"});
  // A group with only positional fields is not repeated.
  CHECK(tmpl({"cmd", "a{1}b", "{}"}, xopt()).render_argv(each({"p", "q"})) ==
        Strings{"cmd", "apb", "p", "q"});
}

// ---------------------------------------------------------------------------------------------
// -I, --header names

TEST_CASE("template: -I STR replaces {}", "[template][I]") {
  TemplateOptions o;
  o.replace = "@@";
  // parallel -k --dry-run -I @@ echo @@ {} {.} {1} x@@y @@@ ::: a.b
  //   -> echo a.b {} a {1} xa.by a.b@
  const auto t = tmpl({"echo", "@@", "{}", "{.}", "{1}", "x@@y", "@@@", "{1.}"}, o);
  CHECK(t.render_shell(one({"a.b"})) == "echo a.b {} a {1} xa.by a.b@ a");
  // parallel -I @@ -X echo x@@y ::: a b
  o.context_replace = true;
  CHECK(tmpl({"echo", "x@@y"}, o).render_shell(each({"a", "b"})) == "echo xay xby");

  TemplateOptions braces;
  braces.replace = "{x}";
  // parallel -k --dry-run -I '{x}' echo {1.} {1} {1x} {x} {} ::: a.b  ->  echo a {1} a.b a.b {}
  CHECK(tmpl({"echo", "{1.}", "{1}", "{1x}", "{x}", "{}"}, braces).render_shell(one({"a.b"})) ==
        "echo a {1} a.b a.b {}");

  TemplateOptions none_used;
  none_used.replace = "@@";
  CHECK(tmpl({"cmd"}, none_used).render_argv(one({"v w"})) == Strings{"cmd", "v w"});
}

TEST_CASE("template: -I errors", "[template][I]") {
  TemplateOptions o;
  o.replace = "";
  CHECK_THROWS_AS(tmpl({"echo", "{}"}, o), UsageError);
  o.replace = "@@";
  CHECK_THROWS_AS(tmpl({}, o), UsageError);
}

TEST_CASE("template: --header names", "[template][names]") {
  TemplateOptions o;
  o.names = {{"name", 1}, {"age", 2}, {"path", 3}};
  // parallel --dry-run --header : echo {name} {1} {age} {x} {name.} ::: name joe.x ::: age 33
  //   -> echo joe.x joe.x 33 {x} joe
  const auto t = tmpl({"echo", "{name}", "{1}", "{age}", "{x}", "{name.}"}, o);
  CHECK(t.has_replacements());
  CHECK(t.render_shell(one({"joe.x", "33"})) == "echo joe.x joe.x 33 {x} joe");
  const auto p = tmpl({"cmd", "{path/}", "{path//}", "{path/.}", "{path.}", "{path}", "{paths}"}, o);
  CHECK(p.render_argv(one({"n", "a", "d/f.e"})) ==
        Strings{"cmd", "f.e", "d", "f", "d/f", "d/f.e", "{paths}"});
  // A name that is not given is literal.
  CHECK(tmpl({"cmd", "{name}"}).render_argv(one({"v"})) == Strings{"cmd", "{name}", "v"});
  // Names also work with -I.
  o.replace = "@@";
  CHECK(tmpl({"cmd", "{age}", "@@"}, o).render_argv(one({"a", "b"})) ==
        Strings{"cmd", "b", "a", "b"});
}

// ---------------------------------------------------------------------------------------------
// No command; a field in the first word

TEST_CASE("template: no command: the values are the command line, not quoted", "[template]") {
  const auto t = tmpl({});
  CHECK_FALSE(t.direct_exec_possible());
  CHECK_FALSE(t.has_replacements());
  CHECK_FALSE(t.uses_slot());
  // parallel --dry-run ::: "echo a  b"  -> echo a  b
  CHECK(t.render_shell(one({"echo a  b"})) == "echo a  b");
  CHECK(t.render_shell(one({"echo", "a b"})) == "echo a b");
  CHECK(t.render_shell(each({"echo", "x'y"})) == "echo x'y");
  CHECK(sh_output(t.render_shell(one({"printf '%s\\n' \"a  b\"; echo {}"}))) == "a  b\n{}\n");
}

TEST_CASE("template: a field in the first word turns quoting off, as GNU parallel", "[template]") {
  // parallel --dry-run {} ::: "echo a  b"  -> echo a  b
  CHECK(tmpl({"{}"}).render_shell(one({"echo a  b"})) == "echo a  b");
  // parallel --dry-run {1} {2} ::: echo ::: "a  b"  -> echo a  b
  CHECK(tmpl({"{1}", "{2}"}).render_shell(one({"echo", "a  b"})) == "echo a  b");
  // parallel --dry-run echo{} {} ::: "a  b"  -> echoa  b a  b
  CHECK(tmpl({"echo{}", "{}"}).render_shell(one({"a  b"})) == "echoa  b a  b");
  // Not in the first word: quoted.
  // parallel --dry-run V={} echo {} ::: "a  b"  -> V='a  b' echo 'a  b'
  CHECK(tmpl({"V={}", "echo", "{}"}).render_shell(one({"a  b"})) == "V='a  b' echo 'a  b'");
  // parallel --dry-run "echo {}" ::: "a  b"  -> echo 'a  b'
  CHECK(tmpl({"echo {}"}).render_shell(one({"a  b"})) == "echo 'a  b'");
  CHECK(tmpl({" {}"}).render_shell(one({"a  b"})) == " 'a  b'");
  CHECK_FALSE(tmpl({"{}"}).direct_exec_possible());
  CHECK_FALSE(tmpl({"x{}"}).direct_exec_possible());
}

// ---------------------------------------------------------------------------------------------
// render_raw (--tagstring)

TEST_CASE("template: render_raw substitutes values unquoted", "[template]") {
  const auto t = tmpl({"{1}-{2}", "{.}"});
  CHECK(t.render_raw(one({"a b", "c.d"})) == "a b-c.d a b c");
  CHECK(tmpl({"tag", "{}"}).render_raw(one({"it's"})) == "tag it's");
  CHECK(tmpl({"{#}:{%}"}).render_raw(one({"v"}, 5, 2)) == "5:2");
}

// ---------------------------------------------------------------------------------------------
// Direct exec

TEST_CASE("template: direct_exec_possible", "[template][direct]") {
  const std::vector<Strings> direct = {
      {"gzip", "-9", "{}"},
      {"/bin/ls", "{}"},
      {"cmd", "a=b", "{}"},
      {"dd", "if={}", "of=/dev/null"},
      {"cmd"},
      {"cmd x", "{}"},
      {"cmd", "{.}.out", "{#}", "{%}"},
      {"./run.sh", "--opt=1", "{1}", "{2}"},
      {"  cmd", "{}"},
      {"true"},
      {"cmd", "a\rb"},
      {"cmd", "\xe4\xb8\xad"},
  };
  for (const auto& w : direct) {
    INFO("words: " << ::Catch::Detail::stringify(w));
    CHECK(tmpl(w).direct_exec_possible());
    CHECK(tmpl(w, xopt()).direct_exec_possible());
  }
  const std::vector<Strings> shell = {
      {"echo", "{}"},       {"cd", "{}"},          {"printf", "%s", "{}"},
      {"cmd", "{}", ">", "out"},                   {"cmd", "$HOME"},
      {"A=1", "cmd"},       {"cmd;", "x"},         {"cmd", "'{}'"},
      {"cmd", "*.txt"},     {"cmd", "{d}"},        {"cmd\n", "{}"},
      {" ", "{}"},          {"{}"},                {"x{}", "y"},
      {"{1}", "{2}"},       {"cmd", "a|b"},        {"cmd", "~"},
      {"cmd", "#"},         {"cmd", "a&"},         {"cmd", "\\x"},
      {"if", "true"},       {"exec", "cmd"},       {"cmd", "a\"b"},
      {""},                 {" "},                 {"time", "cmd"},
      {"cmd", "(x)"},       {"cmd", "[x]"},        {"cmd", "!"},
      {"cmd", "<in"},       {"cmd", "`x`"},        {"cmd", "?"},
  };
  for (const auto& w : shell) {
    INFO("words: " << ::Catch::Detail::stringify(w));
    CHECK_FALSE(tmpl(w).direct_exec_possible());
  }
  CHECK_FALSE(tmpl({}).direct_exec_possible());
}

TEST_CASE("template: render_argv equals the words sh makes of render_shell", "[template][direct][sh]") {
  const std::vector<Strings> templates = {
      {"cmd", "{}"},
      {"cmd", "x{}y", "{}"},
      {"cmd", "{.}", "{/}", "{//}", "{/.}"},
      {"cmd", "{1}", "{2}", "{3}", "{-1}"},
      {"cmd", "{1}{2}", "pre{3}post", "{4.}"},
      {"cmd", "a=b", "--x={}", "{#}", "{%}", "s{#}-{%}e"},
      {"cmd  -a\t-b", "{}", "", "c"},
      {"cmd", "", "{2}", ""},
      {"cmd"},
      {"cmd", "{}{}", "{1}{1}"},
      {"cmd", "pre{}post", "mid {} end"},
  };
  const std::vector<JobInput> inputs = {
      one({"a"}),
      one({""}),
      one({"", ""}),
      one({"a b", "c\td"}),
      one({"it's", "\"q\""}),
      one({"a\nb", "-n"}),
      one({"dir/f.ext", "/", ".x"}),
      one({"\xe4\xb8\xad\xe5\x9b\xbd.(\xe4\xb8\xad\xe5\x9b\xbd)", "dir/\xd1\x84\xd0\xb0\xd0\xb9\xd0\xbb.txt"}),
      one({"$(echo PWNED)", "`echo PWNED`", ";echo PWNED", "*"}),
      each({"a", "b c", ""}),
      each({"x=1", "~", "#", "a\rb"}),
      records({{"a", "b"}, {"c d", ""}}),
      JobInput{},
  };
  int checked = 0;
  for (const bool context : {false, true}) {
    TemplateOptions o;
    o.context_replace = context;
    for (const auto& w : templates) {
      const auto t = CommandTemplate::parse(w, o);
      REQUIRE(t.direct_exec_possible());
      for (const auto& in : inputs) {
        const std::string line = t.render_shell(in);
        INFO("-X " << context << " words: " << ::Catch::Detail::stringify(w) << " line: " << line);
        CHECK(t.render_argv(in) == sh_words(line));
        ++checked;
      }
    }
  }
  CHECK(checked == 2 * 11 * 13);
}

// ---------------------------------------------------------------------------------------------
// Values reach the command byte for byte, and never execute

TEST_CASE("template: every value reaches the command as one literal argument", "[template][sh]") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("poolrun_template_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const std::string marker = (dir / "PWNED").string();
  Strings values = nasty_values();
  for (const char* pat : {"$(touch %s)", "`touch %s`", ";touch %s", "&& touch %s", "|touch %s",
                          "\ntouch %s", "'; touch %s; '", "\"; touch %s; \"", "$(touch %s)'"}) {
    std::string v = pat;
    v.replace(v.find("%s"), 2, marker);
    values.push_back(v);
  }

  const auto t = tmpl({"printf", "'[%s]\\n'", "{}"});
  for (const auto& v : values) {
    INFO("value: " << v);
    CHECK(sh_output(t.render_shell(one({v}))) == "[" + v + "]\n");
  }
  // All at once with -m, and with -X around text.
  std::string expected, expected_x;
  for (const auto& v : values) {
    expected += "[" + v + "]\n";
    expected_x += "[<" + v + ">]\n";
  }
  CHECK(sh_output(t.render_shell(each(values))) == expected);
  CHECK(sh_output(tmpl({"printf", "'[%s]\\n'", "'<'{}'>'"}, xopt()).render_shell(each(values))) ==
        expected_x);
  // Positional and path fields too.
  const auto p = tmpl({"printf", "'[%s]\\n'", "{1}", "{-1}", "{/}"});
  for (const auto& v : values) {
    if (v.find('/') != std::string::npos) continue;
    INFO("value: " << v);
    CHECK(sh_output(p.render_shell(one({v}))) == "[" + v + "]\n[" + v + "]\n[" + v + "]\n");
  }
  CHECK_FALSE(fs::exists(marker));
  fs::remove_all(dir);
}

// ---------------------------------------------------------------------------------------------
// Cost estimates for -X packing

namespace {
/// Bytes the kernel counts for the argv of a run through sh -c, and for a direct run.
std::size_t shell_bytes(const std::string& line) {
  return std::string("/bin/sh").size() + 1 + 3 + line.size() + 1 + 4 * 8;
}
std::size_t argv_bytes(const Strings& argv) {
  std::size_t n = 8;  // NULL pointer
  for (const auto& w : argv) n += w.size() + 1 + 8;
  return n;
}
}  // namespace

TEST_CASE("template: base_cost + record_cost bound the real size", "[template][cost]") {
  const std::vector<Strings> templates = {
      {"cmd", "{}"},
      {"cmd"},
      {"cmd", "pre{}post", "{.}", "{//}"},
      {"cmd", "--opt={}", "x", "{#}", "{%}"},
      {"cmd", "{1}", "{2}", "{3}", "x{}"},
      {"cmd", "long-literal-text-{}-{/.}-end", "{#}{}"},
  };
  const std::vector<Record> recs = {
      {"a"}, {""}, {"it's a 'quoted' value"}, {"/"}, {"dir/file.txt"}, {"x", "y"},
      {"\xe4\xb8\xad\xe5\x9b\xbd"}, {"$(x)", ""}, {"a b c d e f g h"},
  };
  for (const bool context : {false, true}) {
    TemplateOptions o;
    o.context_replace = context;
    for (const auto& w : templates) {
      const auto t = CommandTemplate::parse(w, o);
      JobInput in;
      in.seq = 123456789;
      in.slot = 99999;
      std::size_t bound = t.base_cost();
      CHECK(bound >= shell_bytes(t.render_shell(in)));
      CHECK(bound >= argv_bytes(t.render_argv(in)));
      for (const auto& r : recs) {
        const std::size_t c = t.record_cost(r);
        CHECK(c > 0);
        bound += c;
        in.records.push_back(r);
        INFO("-X " << context << " words: " << ::Catch::Detail::stringify(w)
                   << " records: " << in.records.size());
        CHECK(bound >= shell_bytes(t.render_shell(in)));
        CHECK(bound >= argv_bytes(t.render_argv(in)));
      }
      CHECK(t.record_cost(Record{}) == 0);
    }
  }
}

TEST_CASE("template: record_cost grows with the value and the uses", "[template][cost]") {
  const auto one_use = tmpl({"cmd", "{}"});
  const auto two_uses = tmpl({"cmd", "{}", "{}"});
  CHECK(one_use.record_cost({"aaaa"}) > one_use.record_cost({"a"}));
  CHECK(two_uses.record_cost({"aaaa"}) > one_use.record_cost({"aaaa"}));
  CHECK(one_use.record_cost({"a b"}) >= std::string("'a b' ").size() + 8);
  // -X repeats the literal text of the group.
  const auto x = tmpl({"cmd", "a-very-long-prefix-{}"}, xopt());
  CHECK(x.record_cost({"v"}) >= std::string("a-very-long-prefix-v ").size() + 8);
  CHECK(x.base_cost() >= std::string("cmd a-very-long-prefix-''").size());
}
