// Batch job specs (`poolrun batch jobs.json`): named jobs with dependencies, as a CI pipeline
// describes them. The format is documented in docs/batch.md, its JSON Schema is
// docs/batch.schema.json. parse_batch_spec() reads and checks a spec; BatchSource hands its jobs
// to the engine (core/run/engine.h) as their needs are met.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/input/shell_or_direct.h"
#include "core/run/job_source.h"
#include "core/report/report.h"

namespace poolrun::core {

/// One job of a spec, checked. The spec's top-level `env` and `cwd` are already applied;
/// `shell`, `timeout_s` and `retries` hold only the job's own value (the top-level ones are
/// defaults that the command line may override: see BatchSpec).
struct BatchJob {
  std::string name;                   ///< unique; no '/', no control characters, not "." or ".."
  std::string where;                  ///< where it was defined, for messages: "jobs[3]" or "line 4"
  std::string shell_cmd;              ///< `cmd` given as a string: run as `shell -c shell_cmd`
  std::vector<std::string> argv;      ///< `cmd` given as an array: exec'd directly (never empty then)
  /// Variables set (a value) or removed (nullopt) on top of poolrun's environment.
  std::map<std::string, std::optional<std::string>> env;
  std::string cwd;                    ///< empty: poolrun's working directory
  std::string shell;                  ///< the job's own "shell"; empty: the default
  std::optional<double> timeout_s;    ///< the job's own timeout; 0 means none
  std::optional<std::size_t> retries; ///< the job's own attempts (as --retries)
  std::vector<std::size_t> needs;     ///< indices into BatchSpec::jobs, in the order listed
  bool allow_failure = false;
  bool direct() const { return !argv.empty(); }
};

/// A checked spec: top-level defaults and the jobs in spec order.
struct BatchSpec {
  std::string source;                  ///< the file name (or "<stdin>"), prefixed to messages
  bool json_lines = false;             ///< read as JSON Lines (one job per line, no top level)
  std::optional<std::string> parallel; ///< top-level "parallel": the -j value as text ("4", "50%")
  std::optional<double> timeout_s;     ///< top-level "timeout"
  std::optional<std::size_t> retries;  ///< top-level "retries"
  std::string shell;                   ///< top-level "shell"; empty: $POOLRUN_SHELL or /bin/sh
  std::vector<BatchJob> jobs;
};

/// Parses and checks a spec: a JSON document {"parallel", "timeout", "retries", "env", "cwd",
/// "shell", "jobs": [...]}, or JSON Lines with one job object per line (what is given is found
/// out from the text: a document that parses as a whole is a document). Everything is checked
/// before anything runs: types and values (unknown keys and duplicate keys are errors), unique
/// names, needs that name existing jobs, and the absence of dependency cycles.
/// Throws InputError "<source>: <json path>: <what was expected>, got <what was found>", e.g.
/// `jobs.json: jobs[3].timeout: expected a duration like "30s", got true`, or
/// `jobs.json: dependency cycle: build -> test -> build`; a cycle of more than six jobs is shown
/// by its first four and its last job and counted: `dependency cycle of 100000 jobs: j0 -> j1 ->
/// j2 -> j3 -> ... -> j99999 -> j0`, and a name longer than 60 bytes is cut.
BatchSpec parse_batch_spec(std::string_view text, const std::string& source);

/// How BatchSource behaves beyond the spec.
struct BatchSourceOptions {
  std::string default_shell = "/bin/sh";  ///< for jobs with no "shell" of their own
  bool headers = true;                    ///< banner(): a header line before each job's output
  bool dry_run = false;  ///< jobs count as succeeded when handed out, so --dry-run lists them all
  /// Non-empty: the RunConfig::results_dir of the run (--results DIR, or a private directory when
  /// only --junit needs the output). The engine writes DIR/<name>/{stdout,stderr,seq}; the source
  /// adds `exit` and `record.json` and reads the output back for JUnit.
  std::string capture_dir;
};

/// What became of one job of the spec, after the run.
struct BatchOutcome {
  enum class State { NotRun, Succeeded, Failed, Skipped };
  State state = State::NotRun;          ///< NotRun: the run stopped before it was handed out
  std::optional<JobRecord> record;      ///< the engine's record, when it reported one
};

/// The engine's job source for a spec. A job is handed out once every job it needs has ended:
/// to run, when they all succeeded; with a skip_reason ("needs 'build', which failed") when one
/// of them failed or was skipped, so the engine reports it as skipped and its own dependents are
/// skipped in turn. Among the jobs that are ready, spec order decides. Jobs always get /dev/null
/// as stdin (jobs that run in parallel cannot share a terminal). Not thread-safe.
///
/// Records: job_recorded() takes each job's final record (for JUnit, `exit` and `record.json`).
/// The engine calls it for every job, printed or not (also those recorded when a run stops).
class BatchSource final : public JobSource, public JobEvents {
 public:
  /// Resolves every shell the spec uses. Throws InputError naming the job when one is missing.
  BatchSource(const BatchSpec& spec, BatchSourceOptions opt);
  ~BatchSource() override;

  /// Creates capture_dir/<name> for every job and removes the files an earlier run left there
  /// (stdout, stderr, seq, exit, record.json).
  /// Call before the run; throws InputError naming the directory when it cannot.
  void prepare_capture_dir();

  Status next(JobSpec& out) override;
  void prepare(JobSpec& job) override;
  std::string tag(const JobSpec& job) const override { return job.name; }
  bool reads_stdin() const override { return true; }
  JobEvents* events() override { return this; }
  void job_done(const JobSpec& job, bool succeeded) override;
  /// Every job of the spec is handed out, run or skipped: the total is known (--bar, --eta).
  std::optional<std::size_t> total() const override { return spec_.jobs.size(); }
  /// "=== build: succeeded in 1.23s ===\n" (see docs/batch.md), or "" when headers are off.
  std::string banner(const JobRecord& rec) const override;

  /// A job's final record, as written to the reports.
  void job_recorded(const JobRecord& rec) override;

  /// Each job's outcome, in spec order (valid after the run).
  const std::vector<BatchOutcome>& outcomes() const { return outcomes_; }
  /// The captured stdout (stream 0) or stderr (1) of job `index`: its last `max_bytes` bytes
  /// (0: all of it), with the number of bytes left out before them in `omitted`. nullopt without a capture_dir; empty
  /// when the job wrote nothing or never started.
  std::optional<std::string> captured(std::size_t index, int stream, std::size_t max_bytes,
                                      std::uint64_t& omitted) const;

 private:
  enum class State { Waiting, Ready, Handed, Succeeded, Failed, Skipped };
  std::size_t index_of(const std::string& name) const;
  void release_dependents(std::size_t i);
  void record(const JobRecord& rec);
  std::string job_dir(std::size_t i) const;
  std::vector<std::string> job_env(const BatchJob& job) const;

  const BatchSpec& spec_;
  BatchSourceOptions opt_;
  std::vector<State> state_;
  std::vector<std::size_t> waiting_on_;             // needs not yet ended, per job
  std::vector<std::vector<std::size_t>> dependents_;  // jobs that need job i
  std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> ready_;
  std::unordered_map<std::string, std::size_t> by_name_;
  std::vector<Shell> shells_;  // resolved shell per job
  std::vector<std::string> base_env_;     // poolrun's environment, taken once
  std::size_t handed_ = 0;
  std::size_t next_seq_ = 1;
  std::vector<BatchOutcome> outcomes_;
};

}  // namespace poolrun::core
