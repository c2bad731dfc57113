// The options of --map (a persistent worker pool, core/map/map_pool.h), bound next to the main job's
// options and turned into a MapConfig.
#pragma once
#include <optional>
#include <string>

#include "app/option_binder.h"
#include "core/run/config.h"
#include "core/map/map_pool.h"

namespace poolrun::app {

/// Raw --map option values as CLI11 binds them.
struct MapOptions {
  bool map = false;
  std::optional<long long> chunksize;
  bool unordered = false;
  std::optional<long long> max_tasks;
  std::string init;
};

/// Binds --map, --chunksize, --unordered, --max-tasks-per-worker and --init to `o`.
void add_map_options(OptionBinder& b, MapOptions& o);

/// Checks the --map options against the main job's configuration `run` (already built by
/// make_run_config) and returns the pool's configuration. Throws UsageError naming the option
/// when a --map option is given without --map, or when --map meets an option it does not take
/// (-N, -X, --colsep, --tag, --results, --joblog, --timeout, --halt, --dry-run, ...).
core::MapConfig make_map_config(const MapOptions& o, core::RunConfig run);

}  // namespace poolrun::app
