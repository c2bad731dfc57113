// `poolrun bench`: the workloads, the statistics of a sweep over worker counts and executors, the
// verdict (CPU-bound / I/O-bound / mixed) and the recommended -j. Pure computation; the timed runs
// themselves happen in core/bench/executors.h (built-in tasks) and core/run/engine.h (commands).
// Statistics as hyperfine reports them (mean, standard deviation, median, min, max of the wall
// time of whole runs); speedup, efficiency and the Karp–Flatt serial fraction as in the parallel
// computing literature (Karp & Flatt, CACM 1990). docs/bench.md describes the output.
#pragma once
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "platform/bench/tasks.h"

namespace poolrun::core {

/// One built-in task, as given on the command line:
///   cpu:N            N iterations of an integer recurrence whose result is returned (not removable)
///   io:DURATION      a blocking sleep
///   read:FILE        blocking reads of FILE in 64 KiB chunks to its end
///   mix:N,DURATION   cpu:N then io:DURATION
///   square:DURATION[-DURATION]  returns item*item after a sleep; with a range, each item sleeps a
///                    duration spread over it, fixed by the item's number (the classic Pool.map demo)
/// DURATION as everywhere in poolrun (0.1, 100ms, 2s; core/units.h).
struct BenchTask {
  using Kind = platform::TaskKind;  ///< what the task does
  Kind kind = Kind::Cpu;
  std::uint64_t iterations = 0;  ///< cpu, mix
  double sleep_s = 0;            ///< io, mix, square (the lower end of a range)
  double sleep_max_s = 0;        ///< square with a range: the upper end; otherwise == sleep_s
  std::string path;              ///< read
  std::string spec;              ///< as given, for reports
};

/// Parses a task spec (see BenchTask). Throws UsageError naming the spec and what is wrong.
BenchTask parse_bench_task(const std::string& spec);

/// True when the task mostly waits (io, read, square): `--workers auto` then goes past the CPUs.
bool task_mostly_waits(const BenchTask& t);

/// Parses --workers: "1,2,4,8" (positive, any order, duplicates dropped; sorted ascending) or
/// "auto": 1, 2, 4, ... up to 2×cpus for work that computes, up to 32 for work that mostly waits,
/// and 2×cpus itself. Throws UsageError.
std::vector<std::size_t> parse_worker_list(const std::string& spec, std::size_t cpus, bool mostly_waits);

/// One timed run of one configuration. Times in seconds.
struct BenchRun {
  double wall_s = 0;
  double user_s = 0;  ///< CPU time of the workers (children's rusage for processes, the process's for threads)
  double sys_s = 0;
  bool cpu_known = true;      ///< false when no rusage covers the work (commands under forkserver)
  /// Time the workers were runnable but waited for a CPU (Linux schedstat), summed over workers:
  /// on a busy machine it tells waiting for a CPU apart from waiting for I/O.
  double runqueue_s = 0;
  bool runqueue_known = false;
  /// Tasks that failed (a worker lost twice on them, an unreadable file); commands: the jobs that
  /// failed (as the main job counts them).
  std::size_t tasks_failed = 0;
  std::size_t tasks_retried = 0;  ///< tasks run again because their worker was lost
  std::size_t workers_lost = 0;   ///< workers that ended before the pool closed them
  int exit_status = 0;            ///< commands: poolrun's exit status for the run
  /// The first failure of the run in words, naming the task or command and the cause, e.g.
  /// "read:/nonexistent: No such file or directory" or "nosuchcmd: command not found (exit status
  /// 127)"; empty when nothing failed.
  std::string first_error;
  /// The signal number (SIGINT, SIGTERM, SIGHUP) that cut the run short; 0 when it ran to its end.
  /// An interrupted run's figures mean nothing: the sweep stops and reports no result.
  int stop_signal = 0;
  /// Built-in tasks: the sum of the results modulo 2^64 (equal across executors and worker counts).
  std::uint64_t checksum = 0;
};

/// Summary of a sample: mean, sample standard deviation (0 for one value), median, min, max.
struct SampleStats {
  double mean = 0, stddev = 0, median = 0, min = 0, max = 0;
};

/// Statistics of `xs` (non-empty). Throws std::invalid_argument when empty.
SampleStats sample_stats(const std::vector<double>& xs);

/// One configuration: an executor at a worker count, its runs and derived figures.
struct BenchConfig {
  std::string executor;  ///< "process", "thread", "serial", or "command"
  std::size_t workers = 1;
  std::vector<BenchRun> runs;
  SampleStats wall;
  std::optional<double> speedup;       ///< T(1)/T(p) of the same executor (mean wall times)
  std::optional<double> efficiency;    ///< speedup / p
  std::optional<double> karp_flatt;    ///< (1/S − 1/p) / (1 − 1/p), for p > 1
  std::optional<double> utilisation;   ///< mean (user+sys) / (wall · p)
  /// (user+sys) / (wall · p − run-queue wait): the utilisation the workers would have had with
  /// the CPUs to themselves; empty when the run-queue wait is unknown.
  std::optional<double> utilisation_net;
  /// The untimed warm-up runs are not kept, but a failure in one voids the verdict as a timed
  /// run's does: runs that failed, their failed tasks (jobs), the first error.
  std::size_t warmup_runs_failed = 0;
  std::size_t warmup_tasks_failed = 0;
  std::string warmup_error;
};

/// The verdict on the workload and how it was reached.
struct BenchVerdict {
  /// "cpu-bound", "io-bound" or "mixed"; "failed" when a task (or a command's job) failed in some
  /// run: the times are then of work that did not happen, so they give no verdict.
  std::string kind;
  std::vector<std::string> evidence;  ///< one sentence per observation
  std::string error;                  ///< "failed": the first run's first error (BenchRun::first_error)
  std::size_t tasks_failed = 0;       ///< "failed": failed tasks (jobs) summed over every run
  /// Recommended executor; empty when there is no recommendation ("failed", or no run was timed).
  std::string executor;
  std::size_t workers = 1;            ///< recommended -j: fewest workers within 5% of the best mean
  double best_wall_s = 0;
  bool has_recommendation() const { return !executor.empty(); }
};

/// Says why a command's job failed, for BenchRun::first_error: exit status 127 as "WORD: command
/// not found (exit status 127)" and 126 as "WORD: cannot execute (exit status 126)" (the shell's
/// conventions, POSIX 2.8.2; WORD is the command's first word), a signal, a timeout, a launch
/// error, or the exit status with the command line. `command` is the job's command line.
std::string describe_job_failure(const std::string& command, int exit_code, int signal, bool timed_out,
                                 const std::string& spawn_error);

/// Fills wall, speedup, efficiency, Karp–Flatt and utilisation of every config from its runs.
/// Speedup needs the same executor's 1-worker config; without it those stay empty.
void compute_bench_stats(std::vector<BenchConfig>& configs);

/// Classifies the workload from the configs (after compute_bench_stats). When any run has a failed
/// task or a command run exited non-zero, the kind is "failed" with the first error and the
/// failure count, and nothing is recommended. Otherwise: CPU utilisation of one
/// worker ≥ 0.7 (or, without one, of the best config) is cpu-bound, ≤ 0.3 io-bound, between mixed
/// (net of run-queue waits when known, so that a busy machine does not make work look I/O-bound);
/// the scaling beyond the CPU count is given as evidence. Recommends the config with the fewest
/// workers whose mean is within 5% of the best mean (ties: process before thread before serial).
/// `cpus` is the number of CPUs available.
BenchVerdict classify_bench(const std::vector<BenchConfig>& configs, std::size_t cpus);

/// Everything one `poolrun bench` reports.
struct BenchReport {
  std::string workload;    ///< the task spec, or the command line
  std::string kind;        ///< "builtin" or "command"
  std::size_t tasks = 0;
  std::size_t chunksize = 1;
  bool gil = false;
  std::string submit = "async";
  std::string start_method;
  std::size_t runs = 0, warmup = 0;
  std::size_t cpus = 1;
  std::vector<std::string> argv;
  std::vector<BenchConfig> configs;
  BenchVerdict verdict;
};

/// The JSON document of docs/bench.schema.json ("poolrun-bench/1"); "recommendation" is null when
/// the verdict has none.
nlohmann::json bench_json(const BenchReport& r);

/// The terminal table: one line per config (executor, workers, mean ± σ, median, min, max,
/// speedup, efficiency, Karp–Flatt, utilisation), then the verdict, its evidence and the
/// recommendation (or, for "failed", the first error and "no recommendation"). Ends with a newline.
std::string bench_table(const BenchReport& r);

}  // namespace poolrun::core
