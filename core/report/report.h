// Run reports: --json (one document at the end), --jsonl (a line per job as it ends, then a
// summary line) and --joblog (GNU parallel's 9-column TSV). Schema: docs/poolrun-report.schema.json.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/run/config.h"
#include "platform/fd.h"

namespace poolrun::core {

/// Whether a job (or one attempt of it) failed, as GNU parallel counts failures for its exit
/// status, --halt and --retries: it exited with a non-zero `exit_code` (-1, "no exit code", counts
/// as non-zero), a `signal` (non-zero) ended it, --timeout ended it (`timed_out`), it could not
/// start (`start_failed`), or --pipe input was lost: `stdin_unread` bytes (> 0) of its input were
/// never read because it exited or closed its stdin first. The one definition: JobRecord::failed()
/// and the engine's per-attempt decision (retries, --halt) both call it.
inline bool job_failed(int exit_code, int signal, bool timed_out, bool start_failed,
                       std::uint64_t stdin_unread) {
  return exit_code != 0 || signal != 0 || timed_out || start_failed || stdin_unread > 0;
}

/// What is known of one finished job. Times: Unix seconds (microsecond precision) and seconds.
struct JobRecord {
  std::size_t seq = 0;
  std::size_t slot = 0;
  std::string name;                ///< batch job name; empty for the main job
  std::vector<std::string> items;  ///< the substituted values, in order
  std::string command;             ///< the command line as a shell would read it
  int pid = -1;
  double start = 0, end = 0;       ///< Unix time, seconds
  double duration_s = 0;
  int exit_code = -1;              ///< -1 when ended by a signal or never started
  int signal = 0;
  bool timed_out = false;
  std::size_t attempts = 1;        ///< --retries: attempts made
  double user_s = 0, sys_s = 0;    ///< CPU seconds (rusage)
  long max_rss_kib = 0;
  std::uint64_t stdout_bytes = 0, stderr_bytes = 0;
  std::string spawn_error;         ///< why the process could not start; empty when it did
  std::optional<std::uint64_t> stdin_bytes;    ///< --pipe: bytes the job's stdin pipe took
  std::optional<std::uint64_t> stdin_records;  ///< --pipe: records in its chunk(s), when counted
  /// --pipe/--pipepart: bytes of its input the job never read (it exited or closed its stdin
  /// first): what was left in its stdin pipe plus what was never written. Lost: the job fails.
  std::optional<std::uint64_t> stdin_unread;
  std::string status;              ///< "succeeded", "failed", "skipped" (batch)
  std::string reason;              ///< why a job was skipped
  /// Whether the job failed, by job_failed() (the one rule).
  bool failed() const {
    return job_failed(exit_code, signal, timed_out, !spawn_error.empty(), stdin_unread.value_or(0));
  }
};

/// Totals of a run.
struct RunSummary {
  std::size_t jobs = 0, succeeded = 0, failed = 0, skipped = 0;
  double wall_s = 0, user_s = 0, sys_s = 0;
  double start = 0, end = 0;
  int exit_status = 0;
  bool interrupted = false;  ///< stopped by a signal, --halt or a closed stdout
  std::string stop_reason;   ///< why it stopped early, if it did
};

/// Opens the report files named in the config (throws InputError naming the file when it cannot)
/// and writes each job as it ends. Not thread-safe. Once jobs run nothing here throws (but
/// std::bad_alloc): a write that fails is returned as a message for the engine's stop reason.
class Reports {
 public:
  /// Opens the files. A --joblog opened to append to (--resume, --joblog +FILE) whose last line
  /// lacks its newline (a write cut short by a full disk or a kill) has that partial line cut
  /// off first, with a warning, so the next row starts a line of its own. Throws InputError
  /// naming the file when a file cannot be opened or repaired.
  explicit Reports(const RunConfig& cfg);

  /// Records one job: a --jsonl line (flushed), a --joblog line (flushed); keeps it for --json.
  /// Returns "" or, for the first write that fails, "PATH: cannot write report: CAUSE"; that file
  /// is written no more (a joblog is cut back to its last whole line).
  std::string job_done(const JobRecord& rec);

  /// Writes the --jsonl summary line and the --json document. Returns "" or the first failure,
  /// as job_done().
  std::string finish(const RunSummary& summary);

  /// A command as the joblog's last column holds it: as GNU parallel's print_joblog, each '\n'
  /// becomes a NUL byte (a row is one line); tabs stay (the column is the rest of the line).
  /// Reversible: a command never holds a NUL. joblog_command() (joblog.h) undoes it.
  static std::string joblog_column(std::string_view command);

  /// The job record as JSON text (one line), as in --jsonl.
  static std::string job_json(const JobRecord& rec);

 private:
  const RunConfig& cfg_;
  platform::UniqueFd jsonl_, joblog_;
  platform::UniqueFd json_;  ///< --json: opened (and emptied) before the first job, written at the end
  std::string write(platform::UniqueFd& fd, std::string_view text, const std::string& path);
  bool keep_ = false;
  std::vector<JobRecord> kept_;
};

/// The effective configuration as JSON text (for reports and --dry-run diagnostics).
std::string config_json(const RunConfig& cfg);

}  // namespace poolrun::core
