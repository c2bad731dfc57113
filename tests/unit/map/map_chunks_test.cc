// Tests of core/map_chunks: RecordCounter (attributing output bytes to chunks by counting
// records, and how an extra record shifts them), unattributable (when a worker's completed chunks
// may be printed), default_chunksize, and platform::count_records_ahead on real files (the
// release of chunks in order is tested with ReleaseOrder, tests/unit/run/release_order_test.cc).
#include <catch2/catch.hpp>

#include <random>
#include <string>
#include <vector>

#include "core/errors.h"
#include "core/map/map_chunks.h"
#include "platform/fd.h"
#include "platform/map_io.h"
#include "platform/system.h"

using poolrun::core::default_chunksize;
using poolrun::core::RecordCounter;

namespace {

/// Splits `stream` into consecutive chunks of `counts[i]` records by feeding it in pieces of the
/// given sizes (cycled), exactly as the pool attributes a worker's output to its chunks.
std::vector<std::string> attribute(const std::string& stream, const std::string& delim,
                                   const std::vector<std::size_t>& counts,
                                   const std::vector<std::size_t>& pieces) {
  RecordCounter rc(delim);
  std::vector<std::string> out(1);
  std::size_t chunk = 0, need = counts.empty() ? 0 : counts[0], off = 0, k = 0;
  while (off < stream.size() && chunk < counts.size()) {
    std::string_view piece = std::string_view(stream).substr(off, pieces[k++ % pieces.size()]);
    off += piece.size();
    while (!piece.empty() && chunk < counts.size()) {
      std::size_t n = rc.advance(piece, need);
      out.back().append(piece.substr(0, n));
      piece.remove_prefix(n);
      if (need == 0) {
        if (++chunk < counts.size()) {
          need = counts[chunk];
          out.emplace_back();
        }
      }
    }
  }
  return out;
}

}  // namespace

TEST_CASE("RecordCounter attributes output to chunks by counting records", "[map]") {
  const std::string s = "1\n2\n3\n4\n5\n6\n";
  for (std::vector<std::size_t> pieces : {std::vector<std::size_t>{1}, {2}, {3}, {5}, {100}}) {
    auto got = attribute(s, "\n", {2, 3, 1}, pieces);
    REQUIRE(got == std::vector<std::string>{"1\n2\n", "3\n4\n5\n", "6\n"});
  }
}

TEST_CASE("RecordCounter: a multi-byte delimiter straddling two pieces", "[map]") {
  const std::string s = "a\r\nb\rx\r\nc\r\n";  // a lone \r is data
  for (std::size_t p = 1; p <= s.size(); ++p) {
    auto got = attribute(s, "\r\n", {1, 2}, {p});
    INFO("piece size " << p);
    REQUIRE(got == std::vector<std::string>{"a\r\n", "b\rx\r\nc\r\n"});
  }
}

TEST_CASE("RecordCounter: need 0 consumes nothing; an unfinished record is remembered", "[map]") {
  RecordCounter rc("\n");
  std::size_t need = 0;
  REQUIRE(rc.advance("abc\n", need) == 0);
  need = 2;
  REQUIRE(rc.advance("ab", need) == 2);
  REQUIRE(need == 2);
  REQUIRE(rc.mid_record());
  REQUIRE(rc.advance("c\nd\ne\n", need) == 4);  // stops right after the 2nd delimiter
  REQUIRE(need == 0);
  REQUIRE_FALSE(rc.mid_record());
  REQUIRE_THROWS_AS(RecordCounter(""), poolrun::UsageError);
}

TEST_CASE("RecordCounter agrees with a plain split on random streams", "[map]") {
  std::mt19937 rng(7);
  for (const std::string& delim : {std::string("\n"), std::string(1, '\0'), std::string("ab")}) {
    for (int round = 0; round < 50; ++round) {
      std::string s;
      std::vector<std::string> records;
      int n = 1 + static_cast<int>(rng() % 40);
      for (int i = 0; i < n; ++i) {
        std::string r;
        for (int j = static_cast<int>(rng() % 5); j > 0; --j) r += "xab"[rng() % 3];
        // A record may not contain the delimiter itself.
        if (r.find(delim) != std::string::npos) r = "x";
        if (delim == "ab" && !r.empty() && r.back() == 'a') r += 'x';
        records.push_back(r + delim);
        s += records.back();
      }
      std::vector<std::size_t> counts;
      std::vector<std::string> want;
      for (std::size_t i = 0; i < records.size();) {
        std::size_t c = 1 + rng() % 4;
        c = std::min(c, records.size() - i);
        counts.push_back(c);
        std::string w;
        for (std::size_t k = 0; k < c; ++k) w += records[i + k];
        want.push_back(w);
        i += c;
      }
      auto got = attribute(s, delim, counts, {1 + rng() % 7, 1 + rng() % 3});
      REQUIRE(got == want);
    }
  }
}

TEST_CASE("default_chunksize follows Python's Pool.map: ceil(records / (4 * workers))", "[map]") {
  REQUIRE(default_chunksize(100, 4) == 7);      // divmod(100, 16) = (6, 4) -> 7
  REQUIRE(default_chunksize(16, 4) == 1);
  REQUIRE(default_chunksize(0, 4) == 1);
  REQUIRE(default_chunksize(10000000, 2) == 1250000);
  REQUIRE(default_chunksize(std::nullopt, 4) == 0);  // a stream: adaptive
}

TEST_CASE("count_records_ahead counts a regular file's records from its offset", "[map]") {
  using namespace poolrun::platform;
  PrivateTempDir dir;
  std::error_code ec;
  const std::string path = dir.path_or_create(ec) + "/records";
  REQUIRE_FALSE(ec);
  {
    auto w = open_write(path, false, ec);
    REQUIRE_FALSE(ec);
    REQUIRE_FALSE(write_all(w.get(), "a\r\nb\nc\r\nd"));  // the last record is unterminated
  }
  auto fd = open_read(path, ec);
  REQUIRE_FALSE(ec);
  REQUIRE(count_records_ahead(fd.get(), "\n") == 4u);     // "a\r", "b", "c\r", "d"
  REQUIRE(count_records_ahead(fd.get(), "\r\n") == 3u);  // "a", "b\nc", "d"
  char c;
  REQUIRE(read_some(fd.get(), &c, 1) == 1);  // the offset did not move ...
  REQUIRE(c == 'a');
  REQUIRE(count_records_ahead(fd.get(), "\n") == 4u);  // ... and counting starts from it: "\r", ...
  Pipe p;
  REQUIRE_FALSE(make_pipe(p));
  REQUIRE_FALSE(count_records_ahead(p.read.get(), "\n"));  // not a regular file
}

TEST_CASE("An extra record shifts the following records into the wrong chunks; only the total shows it",
          "[map]") {
  // A worker sent chunks of 2, 2 and 2 records writes "x" after each record (awk '{print;
  // print "x"}'): every chunk's count comes back whole, with records of other input in it. What
  // betrays the worker is the output left over once every chunk is complete.
  const std::string out = "1\nx\n2\nx\n3\nx\n4\nx\n5\nx\n6\nx\n";
  for (std::vector<std::size_t> pieces : {std::vector<std::size_t>{1}, {3}, {100}}) {
    auto got = attribute(out, "\n", {2, 2, 2}, pieces);
    REQUIRE(got == std::vector<std::string>{"1\nx\n", "2\nx\n", "3\nx\n"});
  }
  // Counting the whole stream: 12 output records for 6 input records.
  RecordCounter rc("\n");
  std::size_t need = 100;
  rc.advance(out, need);
  REQUIRE(100 - need == 12);
}

TEST_CASE("unattributable: a worker's completed chunks are printed only if its counts held", "[map]") {
  using poolrun::core::unattributable;
  using poolrun::core::WorkerEnd;
  // Every record came back and the worker ended: its chunks are its results.
  REQUIRE(unattributable(WorkerEnd{}, "").empty());
  // It died in the middle (a signal, a non-zero status, ended by poolrun): what it completed is
  // kept; its unfinished chunks fail on their own.
  REQUIRE(unattributable(WorkerEnd{false, 3, true}, "").empty());
  // It wrote too many records: nothing it completed can be trusted.
  REQUIRE(unattributable(WorkerEnd{true, 0, false}, "wrote more output records than it was sent") ==
          "wrote more output records than it was sent");
  REQUIRE(unattributable(WorkerEnd{true, 0, true}, "").find("more output records") != std::string::npos);
  // It ended its output short by choice (exit 0): it dropped records, the rest shifted.
  REQUIRE(unattributable(WorkerEnd{false, 2, false}, "") ==
          "returned fewer output records than it was sent (2 short at its end)");
}
