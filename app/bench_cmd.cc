#include "app/bench_cmd.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <cstdio>

#include "app/run_cmd.h"
#include "core/bench/bench.h"
#include "core/errors.h"
#include "core/bench/sweep.h"
#include "platform/fd.h"
#include "core/run/start_method.h"
#include "platform/process/launchers.h"
#include "platform/system.h"

#include <csignal>

namespace poolrun::app {

using poolrun::UsageError;

void setup_bench(CLI::App& app, BenchOptions& o) {
  app.add_option("task", o.task, "cpu:N, io:DURATION, read:FILE, mix:N,DURATION or square:DURATION[-DURATION]")
      ->type_name("TASK");
  app.add_option("-n,--tasks", o.tasks, "Built-in tasks per run (items 0..K-1; default 64)")->type_name("K");
  app.add_option("-e,--executor", o.executors, "Executors to compare: process,thread,serial (default: process,thread)")
      ->type_name("LIST");
  app.add_option("-w,--workers", o.workers, "Worker counts: 1,2,4,8 or auto (1 to 2×CPUs; to 32 for waiting tasks)")
      ->type_name("LIST");
  app.add_option("-r,--runs", o.runs, "Timed runs per configuration (default 3)")->type_name("R");
  app.add_option("--warmup", o.warmup, "Untimed runs before them (default 0)")->type_name("W");
  app.add_option("--chunksize", o.chunksize, "Tasks per message to a worker process / per grab of a thread (default 1)")
      ->type_name("N");
  app.add_flag("--gil", o.gil, "Emulate a global interpreter lock: a task holds one lock (per process) while it computes");
  app.add_option("--submit", o.submit, "async: all tasks at once (Pool.map); sync: one at a time, each awaited (Pool.apply)")
      ->type_name("MODE");
  app.add_option("--json", o.json, "Write every run and the statistics as JSON to FILE (docs/bench.md)")->type_name("FILE");
  app.add_option("--svg", o.svg, "Plot speedup against workers, one line per executor, to FILE")->type_name("FILE");
  app.add_option("--start-method", o.start_method, "How worker processes and commands start: spawn (default), fork or forkserver")
      ->type_name("METHOD");
  app.add_flag("-v,--verbose", o.verbose, "More log output on stderr (repeat for more)");
  app.add_flag("-q,--quiet", o.quiet, "Only errors on stderr");
  app.footer(
      "Examples:\n"
      "  poolrun bench cpu:20000000 --tasks 8 --workers 1,2,4\n"
      "  poolrun bench io:50ms -e thread --workers auto --json io.json\n"
      "  poolrun bench -- gzip -kf {} ::: *.log\n"
      "A command after -- runs as the main job does, with -j set to each worker count; its output is\n"
      "discarded. See docs/bench.md.");
}

namespace {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  for (;;) {
    auto c = s.find(',', pos);
    out.push_back(s.substr(pos, c == std::string::npos ? std::string::npos : c - pos));
    if (c == std::string::npos) return out;
    pos = c + 1;
  }
}

const char* signal_name(int sig) {
  return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : sig == SIGHUP ? "SIGHUP" : "a signal";
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& w : v) s += (s.empty() ? "" : " ") + w;
  return s;
}

}  // namespace

int run_bench(const BenchOptions& o, const std::vector<std::string>& argv) {
  const bool is_command = !o.command.empty();
  if (is_command == !o.task.empty())
    throw UsageError(is_command ? "bench: give a built-in TASK or a command after --, not both"
                                : "bench: nothing to time: give a TASK (cpu:N, io:DURATION, ...) or -- COMMAND ::: ITEMS");
  if (o.runs == 0) throw UsageError("--runs: must be at least 1");
  if (o.tasks == 0) throw UsageError("--tasks: must be at least 1");
  if (o.chunksize == 0) throw UsageError("--chunksize: must be at least 1");
  if (o.submit != "async" && o.submit != "sync") throw UsageError("--submit: '" + o.submit + "': expected async or sync");
  const char* method_env = std::getenv("POOLRUN_START_METHOD");
  std::string method = !o.start_method.empty() ? o.start_method : method_env ? method_env : "";
  core::StartMethod sm = method.empty() ? core::StartMethod::Spawn
                                        : core::parse_start_method(method, o.start_method.empty() ? "POOLRUN_START_METHOD" : "--start-method");
  const std::size_t cpus = platform::available_cpus();

  core::BenchReport rep;
  rep.argv = argv;
  rep.runs = o.runs;
  rep.warmup = o.warmup;
  rep.cpus = cpus;
  rep.start_method = core::start_method_name(sm);
  rep.gil = o.gil;
  rep.submit = o.submit;
  rep.chunksize = o.chunksize;

  core::SweepPlan plan;
  core::BenchTask& task = plan.builtin.task;
  core::RunConfig& cmd_cfg = plan.command;
  std::vector<std::string>& executors = plan.executors;
  if (is_command) {
    RunOptions ro;
    ro.rest = o.command;
    const char* shell = std::getenv("POOLRUN_SHELL");
    cmd_cfg = make_run_config(ro, argv, shell ? shell : "", "");
    cmd_cfg.start_method = sm;
    bool has_stdin = cmd_cfg.sources.empty();
    for (const auto& s : cmd_cfg.sources)
      has_stdin = has_stdin || s.kind == core::InputSource::Kind::Stdin ||
                  (s.kind == core::InputSource::Kind::File && s.path == "-");
    if (has_stdin)
      throw UsageError("bench: the command needs its items after ::: or :::: FILE (stdin can be read only once, "
                       "and every run reads them again)");
    executors = {"command"};
    rep.kind = "command";
    rep.workload = join(o.command);
  } else {
    task = core::parse_bench_task(o.task);
    rep.kind = "builtin";
    rep.workload = task.spec;
    rep.tasks = o.tasks;
    for (const auto& e : split_list(o.executors)) {
      if (e != "process" && e != "thread" && e != "serial")
        throw UsageError("--executor: '" + e + "': expected process, thread or serial");
      if (std::find(executors.begin(), executors.end(), e) == executors.end()) executors.push_back(e);
    }
  }
  std::vector<std::size_t> workers =
      core::parse_worker_list(o.workers, cpus, is_command ? false : core::task_mostly_waits(task));
  std::error_code wec;
  platform::UniqueFd json_fd, svg_fd;
  if (!o.json.empty()) {
    json_fd = platform::open_write(o.json, false, wec);
    if (wec) throw InputError(o.json + ": cannot open the JSON report: " + wec.message());
  }
  if (!o.svg.empty()) {
    svg_fd = platform::open_write(o.svg, false, wec);
    if (wec) throw InputError(o.svg + ": cannot open the SVG plot: " + wec.message());
  }

  // The launcher first, while poolrun has no thread (forkserver forks its server here).
  std::unique_ptr<core::Launcher> launcher;
  if (is_command || std::find(executors.begin(), executors.end(), "process") != executors.end())
    launcher = core::make_launcher(sm);

  plan.workers = workers;
  plan.runs = o.runs;
  plan.warmup = o.warmup;
  plan.builtin.tasks = o.tasks;
  plan.builtin.chunksize = o.chunksize;
  plan.builtin.gil = o.gil;
  plan.builtin.sync = o.submit == "sync";
  core::SweepResult sweep = core::run_sweep(plan, launcher.get());
  const int stop_signal = sweep.stop_signal;
  const bool any_failure = sweep.any_failure;
  const std::size_t configs_done = sweep.configs.size(), configs_total = sweep.configs_total;
  rep.configs = std::move(sweep.configs);
  if (stop_signal) {
    // Whatever ran is cut short: no table, no verdict, no -j; the --json and --svg files, opened
    // (and emptied) at the start, stay empty. The main job's exit status after a signal.
    spdlog::warn("bench: interrupted by {}: what was running has ended; no result ({} of {} "
                 "configuration{} had completed)",
                 signal_name(stop_signal), configs_done, configs_total, configs_total == 1 ? "" : "s");
    return 255;
  }
  core::compute_bench_stats(rep.configs);
  rep.verdict = core::classify_bench(rep.configs, cpus);
  std::string table = core::bench_table(rep);
  std::fwrite(table.data(), 1, table.size(), stdout);
  std::fflush(stdout);
  if (json_fd) {
    if (auto ec = platform::write_all(json_fd.get(), core::bench_json(rep).dump(2) + "\n"))
      throw InputError(o.json + ": cannot write the JSON report: " + ec.message());
  }
  if (svg_fd) {
    if (auto ec = platform::write_all(svg_fd.get(), bench_svg(rep)))
      throw InputError(o.svg + ": cannot write the SVG plot: " + ec.message());
  }
  if (rep.verdict.kind == "failed")
    spdlog::error("bench: {} failed, so no verdict and no recommendation: {}",
                  is_command ? "the command" : "the tasks", rep.verdict.error);
  return any_failure ? 1 : 0;
}

}  // namespace poolrun::app
