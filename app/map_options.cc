#include "app/map_options.h"

#include "core/errors.h"

namespace poolrun::app {

void add_map_options(OptionBinder& b, MapOptions& o) {
  b.add_flag("--map", o.map, "Start -j worker processes once and stream the records through them in chunks (imap); see docs/map.md");
  b.add_option("--chunksize", o.chunksize, "With --map, records per chunk (default: records/(4*workers) for a file, adaptive for a stream)")
      ->check(CLI::Range(1LL, 1000000000LL))
      ->type_name("N");
  b.add_flag("--unordered", o.unordered, "With --map, print results as chunks finish, not in input order (imap_unordered)");
  b.add_option("--max-tasks-per-worker", o.max_tasks, "With --map, replace a worker by a fresh one after N chunks")
      ->check(CLI::Range(1LL, 1000000000LL))
      ->type_name("N");
  b.add_option("--init", o.init, "With --map, a shell command run once in each worker's slot before the worker starts")
      ->type_name("CMD");
}

core::MapConfig make_map_config(const MapOptions& o, core::RunConfig run) {
  if (!o.map) {
    if (o.chunksize) throw UsageError("--chunksize needs --map");
    if (o.unordered) throw UsageError("--unordered needs --map");
    if (o.max_tasks) throw UsageError("--max-tasks-per-worker needs --map");
    if (!o.init.empty()) throw UsageError("--init needs --map");
  }
  const core::RunConfig defaults;
  auto refuse = [](bool given, const char* opt) {
    if (given) throw UsageError(std::string("--map does not take ") + opt);
  };
  refuse(run.max_args != defaults.max_args, "-N");
  refuse(run.xargs, "-X");
  refuse(run.colsep.has_value(), "--colsep");
  refuse(run.header, "--header");
  refuse(run.link, "--link");
  refuse(run.replace != defaults.replace, "-I");
  refuse(run.output != defaults.output, "--line-buffer/--ungroup/--group");
  refuse(run.tag || run.tagstring.has_value(), "--tag/--tagstring");
  refuse(run.dry_run, "--dry-run");
  refuse(!run.joblog_path.empty(), "--joblog (use --json or --jsonl)");
  refuse(run.timeout_s > 0 || run.timeout_percent > 0, "--timeout");
  refuse(run.halt.when != core::HaltPolicy::When::Never, "--halt");
  refuse(!run.results_dir.empty(), "--results");
  refuse(run.resume != core::RunConfig::Resume::None || run.retry_failed, "--resume/--retry-failed");
  refuse(run.progress || run.eta || run.bar, "--progress/--eta/--bar");
  core::MapConfig m;
  m.chunksize = o.chunksize ? static_cast<std::size_t>(*o.chunksize) : 0;
  m.unordered = o.unordered;
  m.max_tasks = o.max_tasks ? static_cast<std::size_t>(*o.max_tasks) : 0;
  m.init = o.init;
  static_cast<core::PoolConfig&>(m) = static_cast<core::PoolConfig&&>(run);
  return m;
}

}  // namespace poolrun::app
