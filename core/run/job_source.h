// Where the engine's jobs come from: the main job's template over input records, or a batch
// spec. The engine asks for jobs while it has free job slots and tells the source when each ends.
#pragma once
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/report/report.h"
#include "core/pipe/stdin_feed.h"
#include "core/input/template.h"

namespace poolrun::core {

/// One job to run, as the source describes it.
struct JobSpec {
  JobInput input;           ///< records and seq (set by the source); slot (set by the engine)
  std::string name;         ///< batch job name; empty for the main job
  std::string skip_reason;  ///< non-empty: not run, reported as skipped with this reason
  // Filled by JobSource::prepare(), once the slot is known:
  std::string command;                          ///< shell line: reports, --dry-run, `sh -c`
  std::string path;                             ///< non-empty: exec this directly with argv
  std::vector<std::string> argv;                ///< direct exec argv (argv[0] included)
  std::optional<std::vector<std::string>> env;  ///< full environment; nullopt inherits
  std::string cwd;                              ///< empty inherits
  std::optional<double> timeout_s;              ///< overrides RunConfig::timeout_s (seconds)
  std::optional<std::size_t> retries;           ///< overrides RunConfig::retries (attempts)
  bool allow_failure = false;                   ///< a failure does not count in the exit status
  std::shared_ptr<StdinFeed> stdin_feed;        ///< non-null: stdin is a pipe the engine feeds
};

/// A source that reads poolrun's own input as the run goes (the main job's records, --pipe's
/// chunks): the engine watches its fd with the job pipes, so a slow input never blocks output or
/// signals. Asked once through JobSource::input().
class InputWatch {
 public:
  virtual ~InputWatch() = default;
  /// While the source is Pending: an fd to watch for readability, or -1 (then a job's end
  /// unblocks it).
  virtual int wait_fd() const = 0;
  /// wait_fd() is readable: read once. May throw InputError.
  virtual void on_readable() = 0;
  /// The event loop cannot watch wait_fd() (e.g. /dev/null): reads must not wait for readiness.
  virtual void set_pollable(bool pollable) = 0;
  /// True if wait_fd() must be watched even with no free job slot (--round-robin jobs wait for
  /// input); the engine then retries the jobs' stdin feeds after each on_readable().
  virtual bool wants_input() const { return false; }
};

/// A source that follows what became of its jobs (batch: a job's end releases the jobs that need
/// it; its records make the JUnit report; a banner heads each job's output). Asked once through
/// JobSource::events().
class JobEvents {
 public:
  virtual ~JobEvents() = default;
  /// A job ended (after its last attempt): lets the source release jobs that wait for it.
  virtual void job_done(const JobSpec& job, bool succeeded) = 0;
  /// Every job's final record, as it is reported.
  virtual void job_recorded(const JobRecord& rec) = 0;
  /// A line written to stdout before a finished job's output; empty for none. Includes its own
  /// newline.
  virtual std::string banner(const JobRecord& rec) const = 0;
};

/// A producer of jobs. Not thread-safe: the engine calls it from its loop. What only some sources
/// do is in the two facets above, which the engine asks for once.
class JobSource {
 public:
  enum class Status {
    Job,      ///< `out` holds the next job
    Pending,  ///< none now: wait for input()->wait_fd() to be readable, or for a job to end
    End,      ///< no more jobs, ever
  };
  virtual ~JobSource() = default;
  /// The next job. May throw InputError (the engine stops the run cleanly).
  virtual Status next(JobSpec& out) = 0;
  /// Fills command/path/argv/env/cwd of `job` once job.input.slot is set.
  virtual void prepare(JobSpec& job) = 0;
  /// The --tag prefix of a job's output lines (without the trailing tab).
  virtual std::string tag(const JobSpec& job) const = 0;
  /// How many jobs the source will give in all, when known in advance (for --bar and --eta).
  virtual std::optional<std::size_t> total() const { return std::nullopt; }
  /// True if jobs must get /dev/null as stdin (the source, or the run, reads poolrun's stdin).
  virtual bool reads_stdin() const { return false; }
  /// The source's input, when it reads poolrun's input as the run goes; nullptr otherwise.
  virtual InputWatch* input() { return nullptr; }
  /// The source's interest in its jobs' ends; nullptr when it has none.
  virtual JobEvents* events() { return nullptr; }
};

}  // namespace poolrun::core
