// The engine of the main job: one event loop that starts jobs, collects their output, enforces
// timeouts, handles signals, reaps every child and writes the reports.
#pragma once
#include "core/run/config.h"
#include "core/run/job_source.h"
#include "core/run/start_method.h"

namespace poolrun::core {

/// What a run ended with beyond its exit status, for a caller that runs the engine several times
/// and must tell an interrupted run from a finished one (`poolrun bench`, core/bench/bench.h).
struct RunOutcome {
  /// The first signal that stopped the run early: SIGINT or SIGTERM (running jobs were ended) or
  /// SIGHUP (they were let finish, no new one started); 0 when none did.
  int stop_signal = 0;
  /// Jobs that failed, after their last attempt (allow_failure ones included).
  std::size_t jobs_failed = 0;
  /// The first job that failed, as its reports record it (command, exit code or signal,
  /// timed_out, spawn_error); empty when none failed.
  std::optional<JobRecord> first_failure;
};

/// Runs `cfg` to the end, launching through `launcher`. Returns poolrun's exit status as GNU
/// parallel's: 0 all jobs succeeded; 1-100 the number that failed; 101 more than 100; with --halt,
/// the status of the job that triggered it; 255 after SIGINT/SIGTERM; 141 when poolrun's stdout was
/// closed by its reader. Throws UsageError/InputError before any job starts (bad template, an
/// unreadable argfile or report file); once jobs run, input errors stop the run cleanly (every
/// child reaped), are logged, and give 255. `outcome`, when given, is reset and then filled.
int run_main_job(const RunConfig& cfg, Launcher& launcher, RunOutcome* outcome = nullptr);

/// The same engine over any job source (the main job's template, a batch spec). Jobs with
/// allow_failure do not count in the exit status; skipped jobs are reported, not run.
/// Exit status and errors as run_main_job.
int run_jobs(const RunConfig& cfg, JobSource& source, Launcher& launcher, RunOutcome* outcome = nullptr);

}  // namespace poolrun::core
