// --map: a persistent worker pool with an ordered map over a stream of records, as Python's
// multiprocessing Pool.imap / imap_unordered, for external programs. See docs/map.md.
#pragma once
#include <cstddef>
#include <string>

#include "core/run/config.h"
#include "core/run/start_method.h"

namespace poolrun::core {

/// The configuration of a --map run.
struct MapConfig : PoolConfig {
  // From PoolConfig: command (one word: a shell command line; several: exec'd directly), sources
  // (stdin or one file), delimiter, jobs (workers), retries (total attempts per chunk), termseq,
  // shell, start method, grace_s, output_memory, json_path / jsonl_path, argv.
  std::size_t chunksize = 0;    ///< records per chunk; 0: the default (default_chunksize)
  bool unordered = false;       ///< --unordered: results in completion order (imap_unordered)
  std::size_t max_tasks = 0;    ///< --max-tasks-per-worker: chunks per worker; 0: no limit
  std::string init;             ///< --init: shell command run once per worker before it starts
};

/// Runs the pool to the end of input. Workers are started through `launcher`, each in its own
/// process group, stdin and stdout on pipes to poolrun, stderr on poolrun's stderr. Results go to
/// poolrun's stdout (in input order unless cfg.unordered).
/// Returns the exit status: 0 when every chunk succeeded; else the number of failed chunks (plus
/// workers that broke the contract or exited non-zero after their last chunk), 101 when more than
/// 100; 255 after SIGINT/SIGTERM, an input read error or a failing --init; 141 when stdout was
/// closed by its reader.
/// Throws UsageError (bad sources or command) or InputError (unreadable input or report file)
/// before any worker starts; never throws while a worker is unreaped.
int run_map(const MapConfig& cfg, Launcher& launcher);

}  // namespace poolrun::core
