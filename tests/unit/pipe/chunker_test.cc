// Tests of core/chunker: records are never split, none is lost or duplicated, chunks respect
// --block, -N, -L, --recend, --recstart, and the header is found.
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "core/pipe/chunker.h"
#include "core/errors.h"

using poolrun::core::ChunkOptions;
using poolrun::core::header_length;
using poolrun::core::HeaderSpec;
using poolrun::core::RecordCutter;

namespace {

// Feeds `input` to the cutter in pieces of random size, as reads from a pipe would arrive, and
// returns the chunks.
std::vector<std::string> cut_all(const ChunkOptions& opt, const std::string& input, std::mt19937& rng) {
  RecordCutter cutter(opt);
  std::vector<std::string> chunks;
  std::string buf;
  std::size_t fed = 0;
  std::uniform_int_distribution<std::size_t> piece(1, 97);
  for (;;) {
    bool eof = fed == input.size();
    std::size_t n = cutter.cut(buf, eof);
    if (n > 0) {
      REQUIRE(n <= buf.size());
      chunks.push_back(buf.substr(0, n));
      buf.erase(0, n);
      continue;
    }
    if (eof) {
      REQUIRE(buf.empty());
      break;
    }
    std::size_t k = std::min(piece(rng), input.size() - fed);
    buf.append(input, fed, k);
    fed += k;
  }
  return chunks;
}

// Records made of random letters, each terminated (or started) as the options say.
std::vector<std::string> make_records(std::size_t count, const std::string& start, const std::string& end,
                                      std::mt19937& rng) {
  std::uniform_int_distribution<int> len(1, 30), letter('a', 'e');
  std::vector<std::string> recs;
  for (std::size_t i = 0; i < count; ++i) {
    std::string r = start;
    for (int k = len(rng); k > 0; --k) r += static_cast<char>(letter(rng));
    recs.push_back(r + end);
  }
  return recs;
}

}  // namespace

TEST_CASE("chunks are whole records within the block, none lost or split", "[chunker]") {
  std::mt19937 rng(42);
  struct Case {
    std::string recend, recstart;
  };
  for (const Case& c : {Case{"\n", ""}, Case{"\r\n", ""}, Case{"", ">"}, Case{"}\n", "{"}, Case{std::string(1, '\0'), ""}}) {
    for (std::uint64_t block : {1u, 7u, 50u, 1000u}) {
      INFO("recend=" << c.recend.size() << " recstart=" << c.recstart << " block=" << block);
      auto recs = make_records(200, c.recstart, c.recend, rng);
      std::string input;
      for (const auto& r : recs) input += r;
      if (!c.recend.empty()) input.resize(input.size() - c.recend.size());  // last record unterminated
      ChunkOptions opt;
      opt.recend = c.recend;
      opt.recstart = c.recstart;
      opt.block = block;
      auto chunks = cut_all(opt, input, rng);
      std::string joined;
      std::size_t records = 0;
      RecordCutter cutter(opt);
      for (std::size_t i = 0; i < chunks.size(); ++i) {
        joined += chunks[i];
        records += cutter.count_records(chunks[i]);
        if (chunks[i].size() > block) CHECK(cutter.count_records(chunks[i]) == 1);  // one long record
      }
      CHECK(joined == input);
      CHECK(records == recs.size());
      // Every cut falls between two records.
      std::size_t at = 0;
      std::vector<std::size_t> bounds;
      for (const auto& r : recs) bounds.push_back(at += r.size());
      std::size_t pos = 0;
      for (std::size_t i = 0; i + 1 < chunks.size(); ++i) {
        pos += chunks[i].size();
        CHECK(std::find(bounds.begin(), bounds.end(), pos) != bounds.end());
      }
    }
  }
}

TEST_CASE("-N gives exactly N records per chunk, -L groups lines into records", "[chunker]") {
  std::mt19937 rng(7);
  std::string input;
  for (int i = 1; i <= 103; ++i) input += std::to_string(i) + "\n";
  ChunkOptions opt;
  opt.records = 10;
  auto chunks = cut_all(opt, input, rng);
  REQUIRE(chunks.size() == 11);
  CHECK(chunks[0] == "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n");
  CHECK(chunks[10] == "101\n102\n103\n");
  opt.lines_per_record = 4;
  opt.records = 2;
  chunks = cut_all(opt, input, rng);
  REQUIRE(chunks.size() == 13);  // 8 lines per chunk: 12 full chunks and 7 lines
  CHECK(chunks[0] == "1\n2\n3\n4\n5\n6\n7\n8\n");
  // -L with a block: cuts only after whole 4-line records.
  opt.records = 0;
  opt.block = 30;
  chunks = cut_all(opt, input, rng);
  std::string joined;
  RecordCutter cutter(opt);
  for (std::size_t i = 0; i + 1 < chunks.size(); ++i) {
    CHECK(std::count(chunks[i].begin(), chunks[i].end(), '\n') % 4 == 0);
    CHECK((chunks[i].size() <= 30 || cutter.count_records(chunks[i]) == 1));
  }
  for (const auto& c : chunks) joined += c;
  CHECK(joined == input);
}

TEST_CASE("the cut needs more input until a record ends past the block", "[chunker]") {
  ChunkOptions opt;
  opt.block = 4;
  RecordCutter cutter(opt);
  CHECK(cutter.cut("ab", false) == 0);
  CHECK(cutter.cut("ab", true) == 2);           // the last record as it is
  CHECK(cutter.cut("a\nbcdef", false) == 2);    // the last record end within the block
  CHECK(cutter.cut("abcdefg", false) == 0);     // one long record, not ended yet
  CHECK(cutter.cut("abcdefg\nh", false) == 8);  // ...now it is
  CHECK(cutter.cut("", true) == 0);
  opt.recend = "";
  opt.recstart = ">";
  RecordCutter fasta(opt);
  CHECK(fasta.cut(">a\nb\n>c\n", false) == 5);
  CHECK(fasta.next_split(">a>b", 0) == 2);  // a split at 0 (the very start) is none
}

namespace {
// Cuts the whole of `data` as PipeSource cuts a --pipepart file (windows aside): each chunk ends
// at the split of the next aim; returns the chunks joined with '|'.
std::string part_chunks(const std::string& data, ChunkOptions opt) {
  RecordCutter cutter(opt);
  std::string out;
  std::uint64_t pos = 0;
  while (pos < data.size()) {
    std::uint64_t t = pos + opt.block;
    std::uint64_t end = data.size();
    if (t < data.size()) {
      std::size_t p = cutter.part_split(std::string_view(data).substr(t), 0);
      if (p != RecordCutter::npos) end = std::min<std::uint64_t>(data.size(), t + p);
    }
    REQUIRE(end > pos);  // never an empty chunk
    if (!out.empty()) out += '|';
    out += data.substr(pos, end - pos);
    pos = end;
  }
  return out;
}
}  // namespace

TEST_CASE("--pipepart cuts as GNU parallel 20221122: never an empty chunk, never a cut record", "[chunker]") {
  ChunkOptions opt;
  const std::string f3 = "1\n2\n3\n";
  // Results of `parallel --pipepart -a f3 --block B -k 'echo "[$(cat)]"'`.
  opt.block = 1;
  CHECK(part_chunks(f3, opt) == "1\n|2\n|3\n");
  opt.block = 2;
  CHECK(part_chunks(f3, opt) == "1\n2\n|3\n");
  opt.block = 3;
  CHECK(part_chunks(f3, opt) == "1\n2\n|3\n");
  opt.block = 4;
  CHECK(part_chunks(f3, opt) == "1\n2\n3\n");
  opt.block = 100;
  CHECK(part_chunks(f3, opt) == f3);
  opt.block = 1;
  opt.recend = "2";
  CHECK(part_chunks(f3, opt) == "1\n2|\n3\n");
  opt.recend = "";
  opt.recstart = "2";
  CHECK(part_chunks(f3, opt) == "1\n|2\n3\n");
  opt.recstart = "";
  CHECK(part_chunks(f3, opt) == "1|\n|2|\n|3|\n");  // every byte a record
  // A record many blocks long is one chunk.
  opt = ChunkOptions{};
  opt.block = 1;
  std::string longrec(10000, 'x');
  CHECK(part_chunks("a\n" + longrec + "\nb\n", opt) == "a\n|" + longrec + "\n|b\n");
  RecordCutter c(opt);
  CHECK(c.part_split("ab\ncd", 0) == 3);
  CHECK(c.part_split("ab\ncd", 3) == RecordCutter::npos);
  CHECK(c.part_split("ab", 3) == RecordCutter::npos);
  opt.recend = "\n";
  opt.recstart = ">";
  RecordCutter both(opt);
  CHECK(both.part_split("a\nb\n>c", 0) == 4);  // both must match; the split is between them
}

TEST_CASE("--header: lines, ':' and a regular expression", "[chunker]") {
  CHECK(HeaderSpec::parse(":").lines == 1);
  CHECK(HeaderSpec::parse("3").lines == 3);
  CHECK(HeaderSpec::parse("h.\n").regex == "h.\n");
  CHECK_THROWS_AS(HeaderSpec::parse("(["), poolrun::UsageError);
  CHECK(header_length(HeaderSpec::parse("2"), "a\nb\nc\n", false) == 4u);
  CHECK_FALSE(header_length(HeaderSpec::parse("2"), "a\nb", false).has_value());
  CHECK(header_length(HeaderSpec::parse("2"), "a\nb", true) == 3u);
  CHECK(header_length(HeaderSpec::parse("#[^\n]*\n"), "#x\n#y\nz\n", true) == 3u);
  CHECK(header_length(HeaderSpec::parse("#[^\n]*\n"), "z\n#y\n", true) == 0u);
  CHECK(header_length(HeaderSpec{}, "a\n", false) == 0u);
}
