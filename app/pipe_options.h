// The --pipe / --pipepart options of the main job (GNU parallel's names and meanings).
#pragma once
#include <optional>
#include <string>

#include "app/option_binder.h"
#include "core/run/config.h"

namespace poolrun::app {

/// Raw values of the --pipe options as CLI11 binds them.
struct PipeOptions {
  bool pipe = false;
  bool pipepart = false;
  std::string block;                 ///< --block SIZE (k/M/G suffixes); empty: 1M
  std::optional<long long> lines;    ///< -L N: lines per record
  std::optional<std::string> recend;
  std::optional<std::string> recstart;
  bool round_robin = false;
  /// --pipe or --pipepart given (--round-robin alone is a usage error, not a mode).
  bool enabled() const { return pipe || pipepart; }
};

/// Binds --pipe, --pipepart, --block, -L, --recend, --recstart, --round-robin to `o`.
void add_pipe_options(OptionBinder& b, PipeOptions& o);

/// Fills `c.pipe` from `o` and the main job's -N (`max_args`), -0 (`null`), --header (`header`,
/// "" when not given) and -a files (`c.sources`, which --pipepart takes over). Throws UsageError
/// naming the option for a bad or conflicting value (-N/-L with --pipepart, -k with
/// --round-robin, ::: with --pipe, --round-robin without --pipe, ...).
void apply_pipe_options(const PipeOptions& o, std::optional<long long> max_args, bool null,
                        const std::string& header, core::RunConfig& c);

}  // namespace poolrun::app
