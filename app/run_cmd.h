// The main job's command line: GNU parallel's syntax for the common subset.
#pragma once
#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

#include "app/map_options.h"
#include "app/pipe_options.h"
#include "core/run/config.h"

namespace poolrun::app {

/// Raw option values as CLI11 binds them, before they are checked and turned into a RunConfig.
struct RunOptions {
  std::optional<std::string> jobs;
  std::optional<long long> max_args;
  bool xargs = false;
  std::vector<std::string> arg_files;
  bool null = false;
  std::optional<std::string> delimiter;
  std::string colsep;
  std::string header;
  std::optional<std::string> replace;
  bool link = false;
  bool keep_order = false;
  bool line_buffer = false;
  bool ungroup = false;
  bool group = false;
  bool tag = false;
  std::string tagstring;
  bool dry_run = false;
  std::string json, jsonl, joblog;
  std::string timeout;
  std::string termseq;
  std::optional<long long> retries;
  std::string halt;
  std::string start_method;
  std::string results;
  bool progress = false, eta = false, bar = false;
  bool resume = false, resume_failed = false, retry_failed = false;
  int verbose = 0;
  bool quiet = false;
  PipeOptions pipe;               ///< --pipe, --pipepart and their options
  std::vector<std::string> rest;  ///< command words and input groups (::: / ::::)
  MapOptions map;                 ///< --map and its options
};

/// Binds the main job's options to `opt` through `b`: all of them, or the ones `b` was given the
/// names of (app/option_binder.h).
void setup_run(OptionBinder& b, RunOptions& opt);

/// Splits poolrun's argv (without argv[0]) as GNU parallel reads it: options come first; the
/// first word that is not an option (or the word after "--") starts the command, and everything
/// from there on, including words that look like options ("wc -l"), belongs to the command and
/// its ::: / :::: groups. Options taking a value consume the next word ("-j 2", "-a FILE") unless
/// the value is attached ("-j2", "--jobs=2"). Returns the option words; `rest` gets the others.
/// Throws UsageError for an unknown option, naming it.
std::vector<std::string> split_options(const CLI::App& app, const std::vector<std::string>& args,
                                       std::vector<std::string>& rest);

/// For `args` (poolrun's argv without argv[0]) without option words, as `poolrun cmd ::: x` or
/// `poolrun -- cmd ...`: the command words and input groups, exactly what split_options() puts in
/// `rest` (its option words are then empty). Otherwise (the first word is an option) nullopt.
/// Needs no App: with nothing for CLI11 to bind, main() skips building it, the largest part of
/// poolrun's start-up work.
std::optional<std::vector<std::string>> command_only(const std::vector<std::string>& args);

/// Checks the options and builds the run configuration. `env_shell` and `env_method` are
/// $POOLRUN_SHELL and $POOLRUN_START_METHOD (empty when unset). Throws UsageError naming the
/// option and the value.
core::RunConfig make_run_config(const RunOptions& opt, const std::vector<std::string>& argv,
                                const std::string& env_shell, const std::string& env_method);

/// Parses --halt as GNU parallel: "now|soon,fail|success|done=N|N%" and the legacy numbers
/// (0: never, 1: soon,fail=1, 2: now,fail=1; -1/-2: the same on success). Throws UsageError.
core::HaltPolicy parse_halt(const std::string& spec);

/// Parses --termseq "TERM,200,TERM,100,KILL,25" (names or numbers; ms). Throws UsageError.
std::vector<core::TermStep> parse_termseq(const std::string& spec);

/// Runs the main job; returns the exit status.
int run_main(const RunOptions& opt, const std::vector<std::string>& argv);

}  // namespace poolrun::app
