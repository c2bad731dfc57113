// The --map worker pool (core/map/map_pool.h) on real worker processes: results in input order
// across workers and chunks, --unordered, recycled workers, a worker that breaks the one-record-
// per-record contract, and a worker whose command is not found. Driven through run_map with the
// spawn launcher, stdout captured to a file.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "core/map/map_pool.h"
#include "test_util.h"
#include "platform/process/launchers.h"

namespace {

using poolrun::core::MapConfig;

std::string temp_path(const std::string& name) {
  const char* base = std::getenv("TMPDIR");
  return std::string(base ? base : "/tmp") + "/poolrun-map-test-" + std::to_string(getpid()) + "-" + name;
}

/// A file holding the records 1..n, one per line; removed by the caller.
std::string records_file(int n) {
  std::string path = temp_path("in");
  std::ofstream f(path);
  for (int i = 1; i <= n; ++i) f << i << "\n";
  return path;
}

MapConfig config(const std::string& input, std::vector<std::string> command, std::size_t workers,
                 std::size_t chunksize) {
  MapConfig cfg;
  cfg.command = std::move(command);
  poolrun::core::InputSource src;
  src.kind = poolrun::core::InputSource::Kind::File;
  src.path = input;
  cfg.sources.push_back(src);
  cfg.jobs = workers;
  cfg.chunksize = chunksize;
  return cfg;
}

/// Runs the pool with stdout captured; returns (exit status, stdout).
std::pair<int, std::string> run(const MapConfig& cfg) {
  // The pool logs (info, errors) to the default logger: stderr, as in poolrun, not the captured
  // stdout.
  static auto log = spdlog::stderr_logger_mt("map-pool-test");
  spdlog::set_default_logger(log);
  auto launcher = poolrun::platform::make_spawn_launcher();
  return poolrun::test::with_stdout_captured(temp_path("stdout"), [&] { return poolrun::core::run_map(cfg, *launcher); });
}

std::string numbers(int from, int to, const char* suffix = "") {
  std::string s;
  for (int i = from; i <= to; ++i) s += std::to_string(i) + suffix + "\n";
  return s;
}

std::vector<std::string> sorted_lines(const std::string& s) {
  std::vector<std::string> v;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) v.push_back(line);
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace

TEST_CASE("map pool: results in input order across workers and chunks", "[map]") {
  std::string in = records_file(500);
  auto [rc, out] = run(config(in, {"sed", "s/$/x/"}, 3, 7));
  unlink(in.c_str());
  CHECK(rc == 0);
  CHECK(out == numbers(1, 500, "x"));
}

TEST_CASE("map pool: a one-word command is a shell command line", "[map]") {
  std::string in = records_file(40);
  auto [rc, out] = run(config(in, {"awk '{print $1*2}'"}, 2, 3));
  unlink(in.c_str());
  CHECK(rc == 0);
  std::string want;
  for (int i = 1; i <= 40; ++i) want += std::to_string(2 * i) + "\n";
  CHECK(out == want);
}

TEST_CASE("map pool: --unordered gives every result once", "[map]") {
  std::string in = records_file(300);
  MapConfig cfg = config(in, {"cat"}, 2, 5);
  cfg.unordered = true;
  auto [rc, out] = run(cfg);
  unlink(in.c_str());
  CHECK(rc == 0);
  CHECK(sorted_lines(out) == sorted_lines(numbers(1, 300)));
}

TEST_CASE("map pool: workers recycled after each chunk keep the results whole and in order", "[map]") {
  std::string in = records_file(60);
  MapConfig cfg = config(in, {"cat"}, 2, 4);
  cfg.max_tasks = 1;
  cfg.jsonl_path = temp_path("recycle.jsonl");
  auto [rc, out] = run(cfg);
  unlink(in.c_str());
  CHECK(rc == 0);
  CHECK(out == numbers(1, 60));
  // One worker per chunk: 15 chunks, so 15 workers were started (the report's summary says).
  std::ifstream report(cfg.jsonl_path);
  long started = -1;
  for (std::string line; std::getline(report, line);) {
    auto j = nlohmann::json::parse(line);
    if (j.contains("summary") && j["summary"].contains("workers")) started = j["summary"]["workers"].get<long>();
  }
  unlink(cfg.jsonl_path.c_str());
  CHECK(started == 15);
}

TEST_CASE("map pool: a worker that writes an extra line per record fails and prints nothing misattributed",
          "[map]") {
  std::string in = records_file(6);
  auto [rc, out] = run(config(in, {"awk '{print; print \"x\"}'"}, 2, 2));
  unlink(in.c_str());
  CHECK(rc != 0);
  // No chunk is printed with another chunk's lines: whatever is printed is exactly the records
  // of whole chunks as the worker gave them, never a stray "x" in place of a record.
  CHECK(out.find("x\n") == std::string::npos);
}

TEST_CASE("map pool: a worker whose command is not found fails every chunk: the status counts them", "[map]") {
  std::string in = records_file(5);
  // One word: a shell command line, so the shell starts and exits 127 ("not found").
  auto [rc, out] = run(config(in, {"/nonexistent/poolrun-no-such-worker"}, 2, 1));
  unlink(in.c_str());
  CHECK(rc == 5);
  CHECK(out.empty());
}
