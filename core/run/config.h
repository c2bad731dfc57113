// The configuration of a run, as parsed by app/ from the command line: what every pool shares
// (PoolConfig) and the main job's own settings (RunConfig).
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/pipe/chunker.h"
#include "core/run/start_method.h"

namespace poolrun::core {

/// One input source, in command-line order (GNU parallel's ::: and :::: and -a).
struct InputSource {
  enum class Kind { List, File, Stdin };
  Kind kind = Kind::Stdin;
  std::vector<std::string> values;  ///< Kind::List: the items after :::
  std::string path;                 ///< Kind::File: the file after :::: or -a ("-" is stdin)
};

/// How job output reaches poolrun's stdout/stderr (GNU parallel's --group, --line-buffer, -u).
enum class OutputMode {
  Group,       ///< default: each job's stdout then stderr, written whole when the job ends
  LineBuffer,  ///< whole lines as they arrive; jobs interleave only at line boundaries
  Ungroup,     ///< jobs write straight to poolrun's stdout/stderr (may mix within lines)
};

/// One step of a termination sequence: send `signal`, then wait up to `wait_ms` for the process
/// group to vanish before the next step. GNU parallel's --termseq.
struct TermStep {
  int signal = 15;
  int wait_ms = 0;
};

/// --halt: when to stop the run (GNU parallel's --halt when,why=N|N%).
struct HaltPolicy {
  enum class When { Never, Soon, Now };
  enum class Why { Fail, Success, Done };
  When when = When::Never;
  Why why = Why::Fail;
  double count = 1;      ///< N jobs (or percent when `percent`)
  bool percent = false;
};

/// --pipe / --pipepart (GNU parallel's): input cut into chunks of whole records, one chunk per
/// job's stdin (or, with --round-robin, chunks handed to long-lived jobs).
struct PipeConfig {
  enum class Mode { None, Stdin, Part };
  Mode mode = Mode::None;
  ChunkOptions chunk;        ///< --block, -N, -L, --recend, --recstart, -0
  HeaderSpec header;         ///< --header N|REGEX: repeated at the top of every chunk
  bool round_robin = false;  ///< --round-robin: the -j jobs start once and take chunk after chunk
  std::string file;          ///< --pipepart: the file (-a FILE)
};

/// What every pool that runs a command over records shares, the main job (RunConfig) and --map
/// (core/map/map_pool.h's MapConfig). Units: seconds unless named otherwise.
struct PoolConfig {
  std::vector<std::string> command;    ///< the command words; empty: items are command lines
  std::vector<InputSource> sources;    ///< empty means one Stdin source
  std::string delimiter = "\n";        ///< item terminator (-d, -0)
  std::size_t jobs = 1;                ///< -j: job slots (--map: workers)
  std::size_t retries = 1;             ///< --retries: total attempts per job (--map: per chunk)
  std::vector<TermStep> termseq = {{15, 200}, {15, 100}, {15, 50}, {9, 25}};
  std::string shell = "/bin/sh";       ///< $POOLRUN_SHELL
  StartMethod start_method = StartMethod::Spawn;
  double grace_s = 1.0;                ///< wait for pipe EOF after a child's process exits
  std::size_t output_memory = 64u << 20;  ///< bytes of held output kept in memory before spilling
  std::string json_path;               ///< --json FILE
  std::string jsonl_path;              ///< --jsonl FILE
  std::vector<std::string> argv;       ///< poolrun's own argv, for reports
};

/// Everything the engine needs for a main-job run (and batch's): the shared settings and the
/// main job's own. Units: seconds unless named otherwise.
struct RunConfig : PoolConfig {
  bool link = false;                   ///< --link: pair sources element-wise, not a product
  std::optional<std::string> colsep;   ///< --colsep REGEX
  bool header = false;                 ///< --header : (first item of each source names columns)
  std::string replace = "{}";          ///< -I STR
  std::size_t max_args = 1;            ///< -N: records per job; 0: one, not substituted (-N0)
  bool xargs = false;                  ///< -X: as many records as fit under the exec limit
  OutputMode output = OutputMode::Group;
  bool keep_order = false;             ///< -k
  bool tag = false;                    ///< --tag
  std::optional<std::string> tagstring;  ///< --tagstring STR
  bool dry_run = false;                ///< --dry-run
  std::string joblog_path;             ///< --joblog FILE
  bool joblog_append = false;          ///< --joblog +FILE
  double timeout_s = 0;                ///< --timeout: 0 = none
  double timeout_percent = 0;          ///< --timeout N%: of the median runtime; 0 = none
  HaltPolicy halt;
  bool progress = false;               ///< --progress: running/done/failed counts on stderr
  bool eta = false;                    ///< --eta: with an estimate of the time left
  bool bar = false;                    ///< --bar: a progress bar
  std::string results_dir;             ///< --results DIR: per-job stdout/stderr/seq files
  /// --resume: skip jobs whose seq the joblog already has; --resume-failed: skip only those that
  /// succeeded (as GNU parallel). Both need --joblog and append to it.
  enum class Resume { None, All, Failed };
  Resume resume = Resume::None;
  bool retry_failed = false;           ///< --retry-failed: rerun the joblog's failed commands
  PipeConfig pipe;                     ///< --pipe / --pipepart
};

}  // namespace poolrun::core
