// `poolrun bench`'s sweep: every executor at every worker count, `warmup + runs` runs each, as
// hyperfine times a command (warm-up runs untimed). Built-in tasks run through the executors of
// core/bench/executors.h under one supervisor for the whole sweep; a command runs as the main job
// (core/run/engine.h) with -j set to the worker count and its output discarded.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "core/bench/bench.h"
#include "core/bench/executors.h"
#include "core/run/config.h"
#include "core/run/start_method.h"

namespace poolrun::core {

/// What to run.
struct SweepPlan {
  /// "process", "thread", "serial" (built-in tasks), or just "command".
  std::vector<std::string> executors;
  std::vector<std::size_t> workers;  ///< worker counts, ascending (serial runs once, at 1)
  std::size_t runs = 3;              ///< timed runs per configuration
  std::size_t warmup = 0;            ///< untimed runs before them
  PoolOptions builtin;               ///< built-in tasks: the task and its options (workers ignored)
  RunConfig command;                 ///< executor "command": the main job's config (jobs ignored)
};

/// What the sweep did.
struct SweepResult {
  std::vector<BenchConfig> configs;  ///< completed configurations, in sweep order
  bool any_failure = false;          ///< some run (timed or not) had a failed task or job
  /// SIGINT, SIGTERM or SIGHUP that ended the sweep (what was running has been ended and reaped;
  /// `configs` holds what completed before); 0 when it ran to its end.
  int stop_signal = 0;
  std::size_t configs_total = 0;     ///< configurations the plan has
};

/// Runs the sweep. `launcher` (made before any thread: the forkserver forks its server at
/// creation) starts worker processes and commands; it may be nullptr when no executor needs one
/// (thread, serial). Throws SystemError when no worker process can start, UsageError for a
/// read: path that is too long; a failure inside a command's run is that run's exit status.
SweepResult run_sweep(const SweepPlan& plan, Launcher* launcher);

}  // namespace poolrun::core
