// Tests of core/split: parse_delimiter, ItemSplitter, ColumnSplitter.
#include <catch2/catch.hpp>

#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/input/split.h"

using poolrun::UsageError;
using poolrun::core::ColumnSplitter;
using poolrun::core::ItemSplitter;
using poolrun::core::parse_delimiter;
using Strings = std::vector<std::string>;

namespace {

/// Feeds `input` in pieces of the given sizes (cycled), draining items after each feed.
Strings split_in_pieces(const std::string& input, const std::string& delim,
                        const std::vector<std::size_t>& sizes) {
  ItemSplitter s(delim);
  Strings items;
  std::string item;
  std::size_t off = 0, k = 0;
  while (off < input.size()) {
    const std::size_t n = std::min(sizes[k++ % sizes.size()], input.size() - off);
    s.feed(std::string_view(input).substr(off, n));
    off += n;
    while (s.next(item)) items.push_back(item);
  }
  while (s.next(item)) items.push_back(item);
  if (s.finish(item)) items.push_back(item);
  return items;
}

Strings split_all(const std::string& input, const std::string& delim = "\n") {
  return split_in_pieces(input, delim, {input.size() + 1});
}

/// Straightforward reference: non-overlapping left-to-right matches; the rest is an item if
/// non-empty.
Strings reference_split(const std::string& input, const std::string& delim) {
  Strings out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t hit = input.find(delim, start);
    if (hit == std::string::npos) break;
    out.push_back(input.substr(start, hit - start));
    start = hit + delim.size();
  }
  if (start < input.size()) out.push_back(input.substr(start));
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// parse_delimiter

TEST_CASE("parse_delimiter: escapes", "[split][delimiter]") {
  CHECK(parse_delimiter("\\n") == "\n");
  CHECK(parse_delimiter("\\t") == "\t");
  CHECK(parse_delimiter("\\r") == "\r");
  CHECK(parse_delimiter("\\r\\n") == "\r\n");
  CHECK(parse_delimiter("\\r\\n").size() == 2);
  CHECK(parse_delimiter("\\0") == std::string(1, '\0'));
  CHECK(parse_delimiter("\\\\") == "\\");
  CHECK(parse_delimiter("\\a") == "\a");
  CHECK(parse_delimiter("\\b") == "\b");
  CHECK(parse_delimiter("\\f") == "\f");
  CHECK(parse_delimiter("\\v") == "\v");
  CHECK(parse_delimiter("\\e") == "\x1b");
  CHECK(parse_delimiter("\\x41") == "A");
  CHECK(parse_delimiter("\\x0a") == "\n");
  CHECK(parse_delimiter("\\xfF") == "\xff");
  CHECK(parse_delimiter("\\x4") == "\x04");
  CHECK(parse_delimiter("\\x414") == "A4");
  CHECK(parse_delimiter("\\012") == "\n");  // octal, as GNU parallel
  CHECK(parse_delimiter("\\101\\102") == "AB");
  CHECK(parse_delimiter("\\0\\0") == std::string(2, '\0'));
}

TEST_CASE("parse_delimiter: plain bytes", "[split][delimiter]") {
  CHECK(parse_delimiter(",") == ",");
  CHECK(parse_delimiter("::") == "::");
  CHECK(parse_delimiter("a\\nb") == "a\nb");
  CHECK(parse_delimiter("\xe4\xb8\xad") == "\xe4\xb8\xad");
  CHECK(parse_delimiter(" ") == " ");
}

TEST_CASE("parse_delimiter: errors", "[split][delimiter]") {
  CHECK_THROWS_AS(parse_delimiter(""), UsageError);
  CHECK_THROWS_AS(parse_delimiter("\\"), UsageError);
  CHECK_THROWS_AS(parse_delimiter("a\\"), UsageError);
  CHECK_THROWS_AS(parse_delimiter("\\q"), UsageError);
  CHECK_THROWS_AS(parse_delimiter("\\x"), UsageError);
  CHECK_THROWS_AS(parse_delimiter("\\xg"), UsageError);
  CHECK_THROWS_AS(parse_delimiter("\\777"), UsageError);
}

// ---------------------------------------------------------------------------------------------
// ItemSplitter

TEST_CASE("ItemSplitter: lines", "[split][items]") {
  CHECK(split_all("a\nb\nc\n") == Strings{"a", "b", "c"});
  CHECK(split_all("a\nb\nc") == Strings{"a", "b", "c"});
  CHECK(split_all("") == Strings{});
  CHECK(split_all("\n") == Strings{""});
  CHECK(split_all("\n\n") == Strings{"", ""});
  CHECK(split_all("a\n\nb") == Strings{"a", "", "b"});  // GNU: xay, xy, xby
  CHECK(split_all("0") == Strings{"0"});
  CHECK(split_all("a\n0") == Strings{"a", "0"});
  CHECK(split_all(" ") == Strings{" "});
}

TEST_CASE("ItemSplitter: CR is data with the default delimiter", "[split][items]") {
  CHECK(split_all("a\r\nb\n") == Strings{"a\r", "b"});
  CHECK(split_all("\r") == Strings{"\r"});
  CHECK(split_all("a\r\nb\r\n\r\nc", "\r\n") == Strings{"a", "b", "", "c"});
  CHECK(split_all("a\nb\r\n", "\r\n") == Strings{"a\nb"});
}

TEST_CASE("ItemSplitter: NUL and other delimiters", "[split][items]") {
  const std::string nul(1, '\0');
  CHECK(split_all(std::string("a\0b\0", 4), nul) == Strings{"a", "b"});
  CHECK(split_all(std::string("a\nb\0c", 5), nul) == Strings{"a\nb", "c"});
  CHECK(split_all("a,b,,c,", ",") == Strings{"a", "b", "", "c"});
  CHECK(split_all("xaaay", "aa") == Strings{"x", "ay"});
  CHECK(split_all("aaaa", "aa") == Strings{"", ""});
  CHECK(split_all("a::b:::c", "::") == Strings{"a", "b", ":c"});
  CHECK(split_all("a" "\xe4\xb8\xad" "b", "\xe4\xb8\xad") == Strings{"a", "b"});
}

TEST_CASE("ItemSplitter: byte-by-byte feeding gives the same items", "[split][items]") {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"a\nb\n\nc", "\n"},          {"a\r\nb\r\n\r\nc\r", "\r\n"}, {"x--y---z----", "--"},
      {"abcabcab", "abc"},          {"ababab", "abab"},            {"0", "\n"},
      {"\n\n\n", "\n"},             {"a<>b<<>>c<", "<>"},
  };
  for (const auto& [input, delim] : cases) {
    INFO("input: " << input << " delim: " << delim);
    const Strings expected = reference_split(input, delim);
    CHECK(split_all(input, delim) == expected);
    CHECK(split_in_pieces(input, delim, {1}) == expected);
    CHECK(split_in_pieces(input, delim, {2}) == expected);
    CHECK(split_in_pieces(input, delim, {3, 1}) == expected);
  }
}

TEST_CASE("ItemSplitter: a multi-byte delimiter split across feeds", "[split][items]") {
  ItemSplitter s("\r\n");
  std::string item;
  s.feed("abc\r");
  CHECK_FALSE(s.next(item));
  s.feed("\ndef\r");
  REQUIRE(s.next(item));
  CHECK(item == "abc");
  CHECK_FALSE(s.next(item));
  s.feed("x\r");  // the CR before x was data
  CHECK_FALSE(s.next(item));
  s.feed("\n");
  REQUIRE(s.next(item));
  CHECK(item == "def\rx");
  CHECK_FALSE(s.next(item));
  CHECK_FALSE(s.finish(item));
}

TEST_CASE("ItemSplitter: finish", "[split][items]") {
  std::string item = "unchanged";
  {
    ItemSplitter s;
    CHECK_FALSE(s.next(item));
    CHECK_FALSE(s.finish(item));
  }
  {
    ItemSplitter s;
    s.feed("a\n");
    REQUIRE(s.next(item));
    CHECK_FALSE(s.next(item));
    CHECK_FALSE(s.finish(item));
    CHECK_FALSE(s.finish(item));
  }
  {
    ItemSplitter s;
    s.feed("last");
    CHECK_FALSE(s.next(item));
    REQUIRE(s.finish(item));
    CHECK(item == "last");
    CHECK_FALSE(s.finish(item));
  }
  {
    ItemSplitter s("\r\n");
    s.feed("a\r");  // an incomplete delimiter at the end is data
    CHECK_FALSE(s.next(item));
    REQUIRE(s.finish(item));
    CHECK(item == "a\r");
  }
  {
    ItemSplitter s;
    s.feed("");
    CHECK_FALSE(s.next(item));
    CHECK_FALSE(s.finish(item));
  }
}

TEST_CASE("ItemSplitter: items can be taken lazily, after several feeds", "[split][items]") {
  ItemSplitter s(",");
  for (int i = 0; i < 1000; ++i) s.feed(std::to_string(i) + ",");
  s.feed("tail");
  std::string item;
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(s.next(item));
    REQUIRE(item == std::to_string(i));
    if (i % 7 == 0) s.feed("");  // feeding between takes must not lose anything
  }
  CHECK_FALSE(s.next(item));
  REQUIRE(s.finish(item));
  CHECK(item == "tail");
}

TEST_CASE("ItemSplitter: random pieces match the reference", "[split][items]") {
  std::mt19937 rng(12345);
  const std::string alphabet("ab\n\r\0,", 6);
  for (const std::string& delim : Strings{"\n", "\r\n", std::string(1, '\0'), "ab", "aba", ",,,"}) {
    for (int round = 0; round < 50; ++round) {
      std::string input;
      const int len = static_cast<int>(rng() % 200);
      for (int i = 0; i < len; ++i) input.push_back(alphabet[rng() % alphabet.size()]);
      std::vector<std::size_t> sizes;
      for (int i = 0; i < 8; ++i) sizes.push_back(1 + rng() % 17);
      INFO("delim size " << delim.size() << " round " << round);
      CHECK(split_in_pieces(input, delim, sizes) == reference_split(input, delim));
    }
  }
}

TEST_CASE("ItemSplitter: long items and many small items", "[split][items]") {
  const std::string big(1 << 20, 'x');
  CHECK(split_in_pieces(big + "\n" + big, "\n", {4096}) == Strings{big, big});

  // 10^6 items fed in 64 KiB blocks: must be linear (this would take minutes if every item
  // erased the front of the buffer).
  const std::size_t count = 1000000;
  std::string input;
  input.reserve(count * 8);
  for (std::size_t i = 0; i < count; ++i) {
    input += std::to_string(i % 1000);
    input += '\n';
  }
  const auto t0 = std::chrono::steady_clock::now();
  ItemSplitter s;
  std::string item;
  std::size_t n = 0, sum = 0;
  for (std::size_t off = 0; off < input.size(); off += 65536) {
    s.feed(std::string_view(input).substr(off, 65536));
    while (s.next(item)) {
      ++n;
      sum += item.size();
    }
  }
  CHECK_FALSE(s.finish(item));
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(n == count);
  CHECK(sum == input.size() - count);
  CHECK(secs < 20.0);  // generous (sanitizers, debug builds); quadratic would be far slower
}

TEST_CASE("ItemSplitter: never feeding next() between feeds keeps everything", "[split][items]") {
  // Items are taken only at the end; with a 1-byte delimiter and a huge tail.
  ItemSplitter s(";");
  std::string expected_tail;
  for (int i = 0; i < 10000; ++i) {
    s.feed("v");
    expected_tail += "v";
  }
  std::string item;
  CHECK_FALSE(s.next(item));
  s.feed(";rest");
  REQUIRE(s.next(item));
  CHECK(item == expected_tail);
  REQUIRE(s.finish(item));
  CHECK(item == "rest");
}

TEST_CASE("ItemSplitter: empty delimiter is rejected", "[split][items]") {
  CHECK_THROWS_AS(ItemSplitter(""), UsageError);
}

// ---------------------------------------------------------------------------------------------
// ColumnSplitter (expected values from GNU parallel 20221122 --colsep)

TEST_CASE("ColumnSplitter: plain separators", "[split][columns]") {
  const ColumnSplitter comma(",");
  CHECK(comma.split("a,b") == Strings{"a", "b"});
  CHECK(comma.split("a,b,,") == Strings{"a", "b", "", ""});
  CHECK(comma.split(",x") == Strings{"", "x"});
  CHECK(comma.split("") == Strings{""});
  CHECK(comma.split("abc") == Strings{"abc"});
  CHECK(comma.split(",") == Strings{"", ""});

  const ColumnSplitter tab("\\t");  // --colsep '\t'
  CHECK(tab.split("a\tb") == Strings{"a", "b"});
  CHECK(tab.split("a\\tb") == Strings{"a\\tb"});

  const ColumnSplitter real_tab("\t");
  CHECK(real_tab.split("a\tb\t\tc") == Strings{"a", "b", "", "c"});

  const ColumnSplitter multi("::");
  CHECK(multi.split("a::b:::c") == Strings{"a", "b", ":c"});

  const ColumnSplitter dot("\\.");  // an escaped dot is a plain dot
  CHECK(dot.split("a.b.c") == Strings{"a", "b", "c"});

  // A lone ] or } is literal (as in Perl).
  CHECK(ColumnSplitter("]").split("a]b") == Strings{"a", "b"});
  CHECK(ColumnSplitter("}").split("a}b}") == Strings{"a", "b", ""});

  const ColumnSplitter utf8("\xe4\xb8\xad");
  CHECK(utf8.split("x\xe4\xb8\xady") == Strings{"x", "y"});
}

TEST_CASE("ColumnSplitter: columns are trimmed, as GNU parallel --colsep implies --trim lr",
          "[split][columns]") {
  const ColumnSplitter comma(",");
  CHECK(comma.split(" a , b ") == Strings{"a", "b"});
  CHECK(comma.split("\t a\r\n,\fb\v") == Strings{"a", "b"});
  CHECK(comma.split("a b,c") == Strings{"a b", "c"});
  CHECK(comma.split("   ") == Strings{""});

  const ColumnSplitter untrimmed(",", false);
  CHECK(untrimmed.split(" a , b ") == Strings{" a ", " b "});
}

TEST_CASE("ColumnSplitter: regular expressions", "[split][columns]") {
  CHECK(ColumnSplitter("[0-9]+").split("a1b22c") == Strings{"a", "b", "c"});
  CHECK(ColumnSplitter("\\s+").split("a  b\tc") == Strings{"a", "b", "c"});
  CHECK(ColumnSplitter("[,;]").split("a,b;c") == Strings{"a", "b", "c"});
  CHECK(ColumnSplitter("a|b").split("xaybz") == Strings{"x", "y", "z"});
  // '.' matches every byte: all columns empty (GNU: [] [] [])
  CHECK(ColumnSplitter(".").split("a.b.c") == Strings(6, ""));
  // Patterns that match the empty string split between characters, with no leading empty
  // column but a trailing one (Perl's split).
  CHECK(ColumnSplitter("X*").split("aXXbXc") == Strings{"a", "b", "c", ""});
  CHECK(ColumnSplitter("|").split("a|b") == Strings{"a", "|", "b", ""});
  CHECK(ColumnSplitter("").split("a,b") == Strings{"a", ",", "b", ""});
  CHECK(ColumnSplitter("b*").split("abbc") == Strings{"a", "c", ""});
  CHECK(ColumnSplitter("X*").split("XaX") == Strings{"", "a", ""});
  // Captured groups become columns too.
  CHECK(ColumnSplitter("(b)").split("a(b)c") == Strings{"a(", "b", ")c"});
  CHECK(ColumnSplitter("(,)|(;)").split("a,b;c") == Strings{"a", ",", "", "b", "", ";", "c"});
  // Anchors only match at the real start of the item.
  CHECK(ColumnSplitter("^a").split("aXa") == Strings{"", "Xa"});
  CHECK(ColumnSplitter("\\bc").split("ab cd") == Strings{"ab", "d"});
}

TEST_CASE("ColumnSplitter: invalid regex throws UsageError", "[split][columns]") {
  CHECK_THROWS_AS(ColumnSplitter("("), UsageError);
  CHECK_THROWS_AS(ColumnSplitter("[a"), UsageError);
  CHECK_THROWS_AS(ColumnSplitter("a{2"), UsageError);
  CHECK_THROWS_AS(ColumnSplitter("*"), UsageError);
  CHECK_THROWS_AS(ColumnSplitter("}{"), UsageError);  // Perl would take "{" literally; ECMAScript not
}
