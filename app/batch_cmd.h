// `poolrun batch [options] [SPEC]`: named jobs with dependencies from a JSON spec (docs/batch.md).
#pragma once
#include <CLI/CLI.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/run/config.h"

namespace poolrun::app {

/// Raw option values as CLI11 binds them.
struct BatchOptions {
  std::string spec;  ///< spec file; "-" or empty (with stdin a pipe or file): read stdin
  std::string jobs;
  std::string timeout;
  std::size_t retries = 0;
  std::string termseq;
  bool keep_order = false;
  bool dry_run = false;
  bool no_headers = false;
  std::string json, jsonl, joblog;
  std::string junit;
  std::string results;
  std::string start_method;
  int verbose = 0;
  bool quiet = false;
};

/// Binds the batch subcommand's options to `opt`.
void setup_batch(CLI::App& app, BatchOptions& opt);

/// The run configuration for a batch: command-line values win over the spec's top level
/// (`parallel`, `timeout`, `retries`, `shell`), which win over poolrun's defaults. `env_shell` and
/// `env_method` are $POOLRUN_SHELL and $POOLRUN_START_METHOD (empty when unset). Throws
/// UsageError naming the option and the value.
core::RunConfig make_batch_config(const BatchOptions& opt, const std::optional<std::string>& spec_parallel,
                                  const std::optional<double>& spec_timeout,
                                  const std::optional<std::size_t>& spec_retries, const std::vector<std::string>& argv,
                                  const std::string& env_shell, const std::string& env_method);

/// Reads and checks the spec, runs it, writes --junit and --results. Returns the exit status:
/// 0 when every job without allow_failure succeeded, else the number of such jobs that failed
/// (101 above 100), 255 after SIGINT/SIGTERM (see docs/batch.md). Throws UsageError/InputError
/// (exit 255) for a bad option or an invalid spec, before any job starts.
int run_batch(const BatchOptions& opt, const std::vector<std::string>& argv);

}  // namespace poolrun::app
