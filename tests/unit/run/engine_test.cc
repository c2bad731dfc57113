// The scheduler on real processes: job slots, keep-order, retries and halt, driven through
// run_main_job with the spawn launcher and read back from the --jsonl report.
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "core/run/config.h"
#include "core/run/engine.h"
#include "test_util.h"
#include "platform/process/launchers.h"

namespace {

using poolrun::core::RunConfig;

std::string temp_path(const char* name) {
  const char* base = std::getenv("TMPDIR");
  return std::string(base ? base : "/tmp") + "/poolrun-engine-test-" + std::to_string(getpid()) + "-" + name;
}

/// Runs `cfg` with stdout captured to a file; returns (exit status, stdout).
std::pair<int, std::string> run(RunConfig cfg) {
  auto launcher = poolrun::platform::make_spawn_launcher();
  return poolrun::test::with_stdout_captured(temp_path("stdout"), [&] { return poolrun::core::run_main_job(cfg, *launcher); });
}

std::vector<nlohmann::json> jsonl_jobs(const std::string& path) {
  std::vector<nlohmann::json> jobs;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    if (!j.contains("summary")) jobs.push_back(j);
  }
  return jobs;
}

RunConfig list_config(std::vector<std::string> command, std::vector<std::string> items) {
  RunConfig cfg;
  cfg.command = std::move(command);
  poolrun::core::InputSource src;
  src.kind = poolrun::core::InputSource::Kind::List;
  src.values = std::move(items);
  cfg.sources.push_back(src);
  return cfg;
}

}  // namespace

TEST_CASE("scheduler: never more jobs at once than job slots", "[engine]") {
  RunConfig cfg = list_config({"sleep"}, {"0.2", "0.2", "0.2", "0.2", "0.2", "0.2"});
  cfg.jobs = 2;
  cfg.jsonl_path = temp_path("slots.jsonl");
  auto [rc, out] = run(cfg);
  CHECK(rc == 0);
  auto jobs = jsonl_jobs(cfg.jsonl_path);
  unlink(cfg.jsonl_path.c_str());
  REQUIRE(jobs.size() == 6);
  for (const auto& j : jobs) {
    CHECK(j["slot"].get<int>() >= 1);
    CHECK(j["slot"].get<int>() <= 2);
  }
  // At each job's start, count the jobs running: never more than 2.
  for (const auto& a : jobs) {
    double t = a["start"].get<double>() + 0.001;
    int running = 0;
    for (const auto& b : jobs)
      if (b["start"].get<double>() <= t && t < b["end"].get<double>()) ++running;
    CHECK(running <= 2);
  }
}

TEST_CASE("scheduler: -k prints in input order while jobs finish out of order", "[engine]") {
  RunConfig cfg = list_config({"sleep {}; echo {}"}, {"0.3", "0.1", "0.2"});
  cfg.jobs = 3;
  cfg.keep_order = true;
  auto [rc, out] = run(cfg);
  CHECK(rc == 0);
  CHECK(out == "0.3\n0.1\n0.2\n");
}

TEST_CASE("scheduler: --retries runs a failing job again, up to the total", "[engine]") {
  std::string counter = temp_path("counter");
  unlink(counter.c_str());
  RunConfig cfg = list_config({"echo x >> " + counter + "; exit 1; true"}, {"a"});
  cfg.retries = 3;
  cfg.jsonl_path = temp_path("retries.jsonl");
  auto [rc, out] = run(cfg);
  CHECK(rc == 1);
  auto jobs = jsonl_jobs(cfg.jsonl_path);
  unlink(cfg.jsonl_path.c_str());
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0]["attempts"] == 3);
  std::ifstream in(counter);
  int lines = 0;
  for (std::string l; std::getline(in, l);) ++lines;
  CHECK(lines == 3);
  unlink(counter.c_str());
}

TEST_CASE("scheduler: --halt now,fail=1 exits with the failing job's status", "[engine]") {
  RunConfig cfg = list_config({"sleep 0.{}; exit {}"}, {"3", "5", "9"});
  cfg.jobs = 1;
  cfg.halt.when = poolrun::core::HaltPolicy::When::Now;
  cfg.halt.why = poolrun::core::HaltPolicy::Why::Fail;
  cfg.halt.count = 1;
  cfg.jsonl_path = temp_path("halt.jsonl");
  auto [rc, out] = run(cfg);
  CHECK(rc == 3);
  CHECK(jsonl_jobs(cfg.jsonl_path).size() == 1);  // no job started after the failure
  unlink(cfg.jsonl_path.c_str());
}
