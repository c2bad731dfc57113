// core/bench: task specs, worker lists, statistics, speedup/efficiency/Karp–Flatt, the verdict and
// the recommended -j, on hand-made runs with known answers.
#include <catch2/catch.hpp>

#include "core/bench/bench.h"
#include "core/errors.h"

using namespace poolrun::core;

namespace {

BenchConfig config(const std::string& exe, std::size_t p, std::vector<double> walls, double cpu_per_run) {
  BenchConfig c;
  c.executor = exe;
  c.workers = p;
  for (double w : walls) {
    BenchRun r;
    r.wall_s = w;
    r.user_s = cpu_per_run;
    c.runs.push_back(r);
  }
  return c;
}

}  // namespace

TEST_CASE("bench task specs parse, bad ones are refused by name", "[bench]") {
  auto t = parse_bench_task("cpu:1000");
  CHECK(t.kind == BenchTask::Kind::Cpu);
  CHECK(t.iterations == 1000);
  t = parse_bench_task("io:100ms");
  CHECK(t.kind == BenchTask::Kind::Io);
  CHECK(t.sleep_s == Approx(0.1));
  t = parse_bench_task("mix:5,2s");
  CHECK(t.iterations == 5);
  CHECK(t.sleep_s == Approx(2));
  t = parse_bench_task("square:0.1-0.2");
  CHECK(t.sleep_s == Approx(0.1));
  CHECK(t.sleep_max_s == Approx(0.2));
  CHECK(parse_bench_task("read:/etc/passwd").path == "/etc/passwd");
  CHECK_THROWS_AS(parse_bench_task("cpu"), poolrun::UsageError);
  CHECK_THROWS_AS(parse_bench_task("cpu:-1"), poolrun::UsageError);
  CHECK_THROWS_AS(parse_bench_task("gpu:1"), poolrun::UsageError);
  CHECK_THROWS_AS(parse_bench_task("mix:5"), poolrun::UsageError);
  CHECK_THROWS_AS(parse_bench_task("square:2-1"), poolrun::UsageError);
  CHECK_THROWS_WITH(parse_bench_task("io:soon"), Catch::Contains("soon"));
}

TEST_CASE("worker lists: explicit, sorted and unique; auto depends on the task", "[bench]") {
  CHECK(parse_worker_list("4,1,2,2", 2, false) == std::vector<std::size_t>{1, 2, 4});
  CHECK(parse_worker_list("auto", 2, false) == std::vector<std::size_t>{1, 2, 4});
  CHECK(parse_worker_list("auto", 3, false) == std::vector<std::size_t>{1, 2, 4, 6});
  CHECK(parse_worker_list("auto", 2, true) == std::vector<std::size_t>{1, 2, 4, 8, 16, 32});
  CHECK_THROWS_AS(parse_worker_list("0", 2, false), poolrun::UsageError);
  CHECK_THROWS_AS(parse_worker_list("1,,2", 2, false), poolrun::UsageError);
  CHECK_THROWS_AS(parse_worker_list("two", 2, false), poolrun::UsageError);
}

TEST_CASE("sample statistics as hyperfine: mean, sample sigma, median, min, max", "[bench]") {
  auto s = sample_stats({3, 1, 2, 6});
  CHECK(s.mean == Approx(3));
  CHECK(s.median == Approx(2.5));
  CHECK(s.min == 1);
  CHECK(s.max == 6);
  CHECK(s.stddev == Approx(2.1602468995));  // sqrt(14/3)
  CHECK(sample_stats({5}).stddev == 0);
  CHECK_THROWS(sample_stats({}));
}

TEST_CASE("speedup, efficiency, Karp-Flatt and utilisation; CPU-bound verdict", "[bench]") {
  // 1 worker: 4 s with 4 s of CPU; 2 workers: 2.5 s; 4 workers: 2.4 s on 2 CPUs.
  std::vector<BenchConfig> cs = {config("process", 1, {4, 4}, 3.96), config("process", 2, {2.5, 2.5}, 4.0),
                                 config("process", 4, {2.4, 2.4}, 4.0)};
  compute_bench_stats(cs);
  CHECK(*cs[1].speedup == Approx(1.6));
  CHECK(*cs[1].efficiency == Approx(0.8));
  CHECK(*cs[1].karp_flatt == Approx((1 / 1.6 - 0.5) / 0.5));
  CHECK_FALSE(cs[0].karp_flatt.has_value());
  CHECK(*cs[0].utilisation == Approx(0.99));
  CHECK(*cs[1].utilisation == Approx(0.8));
  auto v = classify_bench(cs, 2);
  CHECK(v.kind == "cpu-bound");
  // 2.4 is the best; 2.5 is within 5% of it, so 2 workers is enough.
  CHECK(v.workers == 2);
  CHECK(v.executor == "process");
}

TEST_CASE("I/O-bound verdict, speedup past the CPUs; mixed; no CPU data", "[bench]") {
  std::vector<BenchConfig> cs = {config("thread", 1, {1.0}, 0.01), config("thread", 16, {0.07}, 0.01)};
  compute_bench_stats(cs);
  auto v = classify_bench(cs, 2);
  CHECK(v.kind == "io-bound");
  CHECK(v.workers == 16);
  bool beyond = false;
  for (const auto& e : v.evidence) beyond = beyond || e.find("beyond the 2 CPUs") != std::string::npos;
  CHECK(beyond);

  std::vector<BenchConfig> mixed = {config("thread", 1, {1.0}, 0.5)};
  compute_bench_stats(mixed);
  CHECK(classify_bench(mixed, 2).kind == "mixed");

  std::vector<BenchConfig> unknown = {config("command", 1, {1.0}, 0)};
  unknown[0].runs[0].cpu_known = false;
  compute_bench_stats(unknown);
  CHECK_FALSE(unknown[0].utilisation.has_value());
  CHECK(classify_bench(unknown, 2).kind == "mixed");
}

TEST_CASE("run-queue waits: a CPU-bound task on a busy machine stays CPU-bound", "[bench]") {
  // 1 s of wall, 0.25 s of CPU, 0.7 s waiting for a CPU: 0.25 / 0.3 of the time it could run.
  std::vector<BenchConfig> cs = {config("process", 1, {1.0}, 0.25)};
  cs[0].runs[0].runqueue_s = 0.7;
  cs[0].runs[0].runqueue_known = true;
  compute_bench_stats(cs);
  CHECK(*cs[0].utilisation == Approx(0.25));
  CHECK(*cs[0].utilisation_net == Approx(0.25 / 0.3));
  CHECK(classify_bench(cs, 2).kind == "cpu-bound");
  // Unknown run-queue wait: the plain utilisation decides.
  cs[0].runs[0].runqueue_known = false;
  compute_bench_stats(cs);
  CHECK_FALSE(cs[0].utilisation_net.has_value());
  CHECK(classify_bench(cs, 2).kind == "io-bound");
}

TEST_CASE("the JSON report has every config and run, nulls where a figure is undefined", "[bench]") {
  BenchReport r;
  r.kind = "builtin";
  r.workload = "cpu:1";
  r.tasks = 3;
  r.runs = 2;
  r.configs = {config("serial", 1, {1, 1.2}, 1), config("thread", 2, {0.6, 0.6}, 1.1)};
  compute_bench_stats(r.configs);
  r.verdict = classify_bench(r.configs, 2);
  auto j = bench_json(r);
  CHECK(j["schema"] == "poolrun-bench/1");
  REQUIRE(j["configs"].size() == 2);
  CHECK(j["configs"][0]["runs"].size() == 2);
  CHECK(j["configs"][0]["karp_flatt"].is_null());
  CHECK(j["configs"][1]["speedup"].is_null());  // no 1-worker thread config to compare with
  CHECK(j["configs"][0]["wall_s"]["mean"] == Approx(1.1));
  CHECK(j["recommendation"]["jobs_option"] == "-j2");
  auto table = bench_table(r);
  CHECK(table.find("verdict: ") != std::string::npos);
  CHECK(table.find("recommended: thread executor, -j2") != std::string::npos);
}

TEST_CASE("failed tasks: verdict 'failed' with the first error, no recommendation, null in JSON", "[bench]") {
  // A missing file is "read" in no time: without the failure check this would look like the
  // fastest, CPU-bound workload and recommend -j1.
  BenchReport r;
  r.kind = "builtin";
  r.workload = "read:/nonexistent";
  r.tasks = 4;
  r.runs = 1;
  r.configs = {config("process", 1, {0.01}, 0.01), config("process", 2, {0.01}, 0.01)};
  r.configs[1].runs[0].tasks_failed = 4;
  r.configs[1].runs[0].first_error = "read:/nonexistent: No such file or directory";
  compute_bench_stats(r.configs);
  r.verdict = classify_bench(r.configs, 2);
  CHECK(r.verdict.kind == "failed");
  CHECK(r.verdict.error == "read:/nonexistent: No such file or directory");
  CHECK(r.verdict.tasks_failed == 4);
  CHECK_FALSE(r.verdict.has_recommendation());
  REQUIRE(r.verdict.evidence.size() == 1);
  CHECK(r.verdict.evidence[0] == "4 tasks failed, in 1 of 2 runs");
  auto j = bench_json(r);
  CHECK(j["verdict"]["kind"] == "failed");
  CHECK(j["verdict"]["error"] == "read:/nonexistent: No such file or directory");
  CHECK(j["recommendation"].is_null());
  CHECK(j["configs"][0]["runs"][0]["error"].is_null());
  CHECK(j["configs"][1]["runs"][0]["error"] == "read:/nonexistent: No such file or directory");
  auto table = bench_table(r);
  CHECK(table.find("verdict: none: the tasks failed: read:/nonexistent: No such file or directory\n") !=
        std::string::npos);
  CHECK(table.find("recommended") == std::string::npos);
  CHECK(table.find("no recommendation") != std::string::npos);

  // A command run that exited non-zero without a failed job on record still fails the verdict.
  std::vector<BenchConfig> cmd = {config("command", 1, {0.5}, 0.1)};
  cmd[0].runs[0].exit_status = 255;
  compute_bench_stats(cmd);
  auto v = classify_bench(cmd, 2);
  CHECK(v.kind == "failed");
  CHECK(v.error == "exit status 255");

  // A failed warm-up run (not kept) voids the verdict too.
  std::vector<BenchConfig> warm = {config("thread", 1, {0.5}, 0.5)};
  warm[0].warmup_runs_failed = 1;
  warm[0].warmup_tasks_failed = 2;
  warm[0].warmup_error = "read:x: Permission denied";
  compute_bench_stats(warm);
  v = classify_bench(warm, 2);
  CHECK(v.kind == "failed");
  CHECK(v.error == "read:x: Permission denied");
  CHECK(v.tasks_failed == 2);
}

TEST_CASE("a failed job in words: not found, not executable, signal, timeout, status", "[bench]") {
  CHECK(describe_job_failure("nosuchcmd a b", 127, 0, false, "") == "nosuchcmd: command not found (exit status 127)");
  CHECK(describe_job_failure("./script x", 126, 0, false, "") == "./script: cannot execute (exit status 126)");
  CHECK(describe_job_failure("sleep 9", -1, 9, false, "") == "sleep 9: ended by signal 9");
  CHECK(describe_job_failure("sleep 9", -1, 15, true, "") == "sleep 9: timed out");
  CHECK(describe_job_failure("false", 1, 0, false, "") == "false: exit status 1");
  CHECK(describe_job_failure("x", -1, 0, false, "exec: Permission denied") == "x: exec: Permission denied");
}
