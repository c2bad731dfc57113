#include "app/bench_cmd.h"

#include <spdlog/spdlog.h>

#include <cstdlib>
#include <cstdio>

#include "app/run_cmd.h"
#include "core/bench/bench.h"
#include "core/run/engine.h"
#include "core/errors.h"
#include "core/bench/executors.h"
#include "platform/bench/threads.h"
#include "platform/event_loop.h"
#include "platform/fd.h"
#include "core/run/start_method.h"
#include "platform/process/launchers.h"
#include "platform/system.h"

#include <csignal>
#include <optional>

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

  core::BenchTask task;
  core::RunConfig cmd_cfg;
  std::vector<std::string> executors;
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

  // Built-in tasks run under one supervisor for the whole sweep: the process pool is a policy on
  // it (its workers guarded, reaped, ended with the termseq), and the thread and serial executors
  // take SIGINT, SIGTERM and SIGHUP from its signal events. Started before any thread (and after
  // the forkserver). SIGINT, SIGTERM and SIGHUP end the whole sweep, not just the run they arrive
  // in; between runs they wait until the next check. A command's runs have the engine's own
  // supervisor; the sweep takes the signals between them from its own events.
  const core::RunConfig defaults;
  std::optional<core::Supervisor> sup;
  std::optional<platform::SignalEvents> own_signals;
  if (!is_command && launcher) {
    sup.emplace(*launcher, defaults.termseq);
    sup->start(true);
  } else {
    own_signals.emplace();
  }
  platform::SignalEvents& signals = sup ? *sup->signal_events() : *own_signals;

  bool any_failure = false;
  int stop_signal = 0;
  std::size_t configs_done = 0, configs_total = 0;
  for (const auto& exe : executors) configs_total += exe == "serial" ? 1 : workers.size();
  for (const auto& exe : executors) {
    if (stop_signal) break;
    std::vector<std::size_t> ws = exe == "serial" ? std::vector<std::size_t>{1} : workers;
    for (std::size_t p : ws) {
      if (stop_signal) break;
      core::BenchConfig conf;
      conf.executor = exe;
      conf.workers = p;
      for (std::size_t i = 0; i < o.warmup + o.runs; ++i) {
        if ((stop_signal = platform::take_stop_signal(signals))) break;
        core::BenchRun run;
        if (exe == "command") {
          core::RunConfig c = cmd_cfg;
          c.jobs = p;
          double u0, s0, u1, s1;
          platform::children_cpu(u0, s0);
          int saved = platform::silence_stdout();
          double t0 = platform::monotonic_now();
          core::RunOutcome outcome;
          run.exit_status = core::run_main_job(c, *launcher, &outcome);
          run.wall_s = platform::monotonic_now() - t0;
          platform::restore_stdout(saved);
          platform::children_cpu(u1, s1);
          // Jobs a forkserver starts are its children, not poolrun's: no rusage covers them here.
          run.cpu_known = sm != core::StartMethod::Forkserver;
          run.user_s = u1 - u0;
          run.sys_s = s1 - s0;
          run.stop_signal = outcome.stop_signal;
          run.tasks_failed = outcome.jobs_failed;
          if (const auto& f = outcome.first_failure)
            run.first_error = core::describe_job_failure(f->command, f->exit_code, f->signal, f->timed_out,
                                                         f->spawn_error);
          else if (run.exit_status != 0 && !run.stop_signal)
            run.first_error = fmt::format("the run ended with status {}", run.exit_status);
        } else {
          core::PoolOptions po;
          po.task = task;
          po.tasks = o.tasks;
          po.workers = p;
          po.chunksize = o.chunksize;
          po.gil = o.gil;
          po.sync = o.submit == "sync";
          run = exe == "process" ? core::run_process_pool(*sup, po) : core::run_in_threads(po, exe == "thread", &signals);
        }
        if (run.stop_signal) {
          stop_signal = run.stop_signal;
          break;
        }
        const bool failed = run.tasks_failed || run.exit_status != 0 || !run.first_error.empty();
        if (failed) any_failure = true;
        spdlog::info("{} ×{} run {}{}: {:.6f} s", exe, p, i + 1, i < o.warmup ? " (warm-up)" : "", run.wall_s);
        if (i >= o.warmup) {
          conf.runs.push_back(std::move(run));
        } else if (failed) {
          // Not timed, but its failure voids the verdict as a timed run's would.
          ++conf.warmup_runs_failed;
          conf.warmup_tasks_failed += run.tasks_failed;
          if (conf.warmup_error.empty()) conf.warmup_error = run.first_error;
        }
      }
      if (stop_signal) break;
      rep.configs.push_back(std::move(conf));
      ++configs_done;
    }
  }
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
