#include "core/bench/sweep.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <optional>

#include "core/run/engine.h"
#include "core/run/supervisor.h"
#include "platform/bench/threads.h"
#include "platform/system.h"

namespace poolrun::core {

namespace {

/// One run of the command as the main job, its output discarded. CPU time from the reaped
/// children's rusage.
BenchRun run_command(const SweepPlan& plan, std::size_t workers, Launcher& launcher) {
  BenchRun run;
  RunConfig c = plan.command;
  c.jobs = workers;
  double u0, s0, u1, s1;
  platform::children_cpu(u0, s0);
  int saved = platform::silence_stdout();
  double t0 = platform::monotonic_now();
  RunOutcome outcome;
  run.exit_status = run_main_job(c, launcher, &outcome);
  run.wall_s = platform::monotonic_now() - t0;
  platform::restore_stdout(saved);
  platform::children_cpu(u1, s1);
  // Jobs a forkserver starts are its children, not poolrun's: no rusage covers them here.
  run.cpu_known = c.start_method != StartMethod::Forkserver;
  run.user_s = u1 - u0;
  run.sys_s = s1 - s0;
  run.stop_signal = outcome.stop_signal;
  run.tasks_failed = outcome.jobs_failed;
  if (const auto& f = outcome.first_failure)
    run.first_error = describe_job_failure(f->command, f->exit_code, f->signal, f->timed_out, f->spawn_error);
  else if (run.exit_status != 0 && !run.stop_signal)
    run.first_error = fmt::format("the run ended with status {}", run.exit_status);
  return run;
}

}  // namespace

SweepResult run_sweep(const SweepPlan& plan, Launcher* launcher) {
  SweepResult out;
  for (const auto& exe : plan.executors) out.configs_total += exe == "serial" ? 1 : plan.workers.size();
  const bool is_command = plan.executors.size() == 1 && plan.executors[0] == "command";
  // Built-in tasks run under one supervisor for the whole sweep: the process pool is a policy on
  // it (its workers guarded, reaped, ended with the termseq), and the thread and serial executors
  // take SIGINT, SIGTERM and SIGHUP from its signal events. Started before any thread (and after
  // the forkserver). SIGINT, SIGTERM and SIGHUP end the whole sweep, not just the run they arrive
  // in; between runs they wait until the next check. A command's runs have the engine's own
  // supervisor; the sweep takes the signals between them from its own events.
  const RunConfig defaults;
  std::optional<Supervisor> sup;
  std::optional<platform::SignalEvents> own_signals;
  if (!is_command && launcher) {
    sup.emplace(*launcher, defaults.termseq);
    sup->start(true);
  } else {
    own_signals.emplace();
  }
  platform::SignalEvents& signals = sup ? *sup->signal_events() : *own_signals;

  for (const auto& exe : plan.executors) {
    std::vector<std::size_t> ws = exe == "serial" ? std::vector<std::size_t>{1} : plan.workers;
    for (std::size_t p : ws) {
      BenchConfig conf;
      conf.executor = exe;
      conf.workers = p;
      for (std::size_t i = 0; i < plan.warmup + plan.runs; ++i) {
        if ((out.stop_signal = platform::take_stop_signal(signals))) return out;
        BenchRun run;
        if (exe == "command") {
          run = run_command(plan, p, *launcher);
        } else {
          PoolOptions po = plan.builtin;
          po.workers = p;
          run = exe == "process" ? run_process_pool(*sup, po) : run_in_threads(po, exe == "thread", &signals);
        }
        if (run.stop_signal) {
          out.stop_signal = run.stop_signal;
          return out;
        }
        const bool failed = run.tasks_failed || run.exit_status != 0 || !run.first_error.empty();
        if (failed) out.any_failure = true;
        spdlog::info("{} ×{} run {}{}: {:.6f} s", exe, p, i + 1, i < plan.warmup ? " (warm-up)" : "", run.wall_s);
        if (i >= plan.warmup) {
          conf.runs.push_back(std::move(run));
        } else if (failed) {
          // Not timed, but its failure voids the verdict as a timed run's would.
          ++conf.warmup_runs_failed;
          conf.warmup_tasks_failed += run.tasks_failed;
          if (conf.warmup_error.empty()) conf.warmup_error = run.first_error;
        }
      }
      out.configs.push_back(std::move(conf));
    }
  }
  return out;
}

}  // namespace poolrun::core
