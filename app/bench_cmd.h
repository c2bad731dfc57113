// `poolrun bench [options] TASK | -- COMMAND [::: ITEMS]`: times a workload at several worker counts
// and executors and says whether it is CPU-bound or I/O-bound and how many workers to use
// (docs/bench.md).
#pragma once
#include <string>
#include <vector>

#include "core/bench/bench.h"

// Declared, not included: CLI11 costs every file that includes it several seconds of compile time,
// and bench_svg.cc does not use it.
namespace CLI {
class App;
}

namespace poolrun::app {

/// Raw option values as CLI11 binds them.
struct BenchOptions {
  std::string task;                  ///< a built-in task spec (core/bench/bench.h)
  std::vector<std::string> command;  ///< words after "--": a command and its ::: / :::: inputs
  std::size_t tasks = 64;
  std::string executors = "process,thread";
  std::string workers = "auto";
  std::size_t runs = 3;
  std::size_t warmup = 0;
  std::size_t chunksize = 1;
  bool gil = false;
  std::string submit = "async";
  std::string json, svg;
  std::string start_method;
  int verbose = 0;
  bool quiet = false;
};

/// Binds the bench subcommand's options to `opt`.
void setup_bench(CLI::App& app, BenchOptions& opt);

/// The --svg plot (core/report/plot.h): speedup S(p) against workers p, one line per executor (configs in
/// sweep order, so each line runs by ascending p), with the ideal S = p.
/// Returns an SVG document.
std::string bench_svg(const core::BenchReport& r);

/// Runs the sweep, prints the table to stdout, writes --json/--svg. Returns 0, or 1 when some task
/// failed or a command run exited non-zero. Throws UsageError (bad option, exit 255 in main) before
/// anything runs, InputError when a report file cannot be written.
int run_bench(const BenchOptions& opt, const std::vector<std::string>& argv);

}  // namespace poolrun::app
