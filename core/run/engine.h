// The engine of the main job: one event loop that starts jobs, collects their output, enforces
// timeouts, handles signals, reaps every child and writes the reports.
#pragma once
#include "core/run/config.h"
#include "core/run/job_source.h"
#include "core/run/start_method.h"

namespace poolrun::core {

/// Runs `cfg` to the end, launching through `launcher`. Returns poolrun's exit status as GNU
/// parallel's: 0 all jobs succeeded; 1-100 the number that failed; 101 more than 100; with --halt,
/// the status of the job that triggered it; 255 after SIGINT/SIGTERM; 141 when poolrun's stdout was
/// closed by its reader. Throws UsageError/InputError before any job starts (bad template, an
/// unreadable argfile or report file); once jobs run, input errors stop the run cleanly (every
/// child reaped), are logged, and give 255.
int run_main_job(const RunConfig& cfg, Launcher& launcher);

/// The same engine over any job source (the main job's template, a batch spec). Jobs with
/// allow_failure do not count in the exit status; skipped jobs are reported, not run.
/// Exit status and errors as run_main_job.
int run_jobs(const RunConfig& cfg, JobSource& source, Launcher& launcher);

}  // namespace poolrun::core
