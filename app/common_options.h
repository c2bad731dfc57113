// Options the main job and `batch` share, bound the same way so their names, value names and help
// texts cannot drift apart (the completion scripts and the man page are checked against them).
#pragma once
#include <CLI/CLI.hpp>

#include <string>
#include <utility>

#include "core/run/config.h"
#include "core/errors.h"

namespace poolrun::app {

/// Binds --json, --jsonl and --joblog to `o.json`, `o.jsonl`, `o.joblog` (strings: FILE). `app` is a
/// CLI::App or an OptionBinder (app/option_binder.h).
template <typename App, typename Options>
void add_report_options(App& app, Options& o) {
  app.add_option("--json", o.json, "Write a JSON report of the run to FILE at the end")->type_name("FILE");
  app.add_option("--jsonl", o.jsonl, "Stream one JSON line per finished job to FILE, then a summary line")
      ->type_name("FILE");
  app.add_option("--joblog", o.joblog, "Write GNU parallel's joblog (TSV) to FILE; +FILE appends")
      ->type_name("FILE");
}

/// Copies the report options into `c`: "+FILE" for --joblog appends (GNU parallel's form).
template <typename Options>
void apply_report_options(const Options& o, core::RunConfig& c) {
  c.json_path = o.json;
  c.jsonl_path = o.jsonl;
  c.joblog_path = o.joblog;
  if (!c.joblog_path.empty() && c.joblog_path[0] == '+') {
    c.joblog_append = true;
    c.joblog_path.erase(0, 1);
  }
  // "-" is stdout for each of them (as GNU parallel's --joblog -); two reports in one file would
  // overwrite each other.
  const std::pair<const char*, const std::string*> paths[] = {
      {"--json", &c.json_path}, {"--jsonl", &c.jsonl_path}, {"--joblog", &c.joblog_path}};
  for (std::size_t i = 0; i < 3; ++i)
    for (std::size_t k = i + 1; k < 3; ++k)
      if (!paths[i].second->empty() && *paths[i].second != "-" && *paths[i].second == *paths[k].second)
        throw poolrun::UsageError(std::string(paths[i].first) + " and " + paths[k].first + " name the same file '" +
                               *paths[i].second + "'; give each report its own file");
}

/// Binds --start-method, -v/--verbose and -q/--quiet to `o.start_method`, `o.verbose`, `o.quiet`.
/// `app` is a CLI::App or an OptionBinder.
template <typename App, typename Options>
void add_run_options(App& app, Options& o) {
  app.add_option("--start-method", o.start_method, "How jobs start: spawn (default), fork or forkserver")
      ->type_name("METHOD");
  app.add_flag("-v,--verbose", o.verbose, "More log output on stderr (repeat for more)");
  app.add_flag("-q,--quiet", o.quiet, "Only errors on stderr");
}

}  // namespace poolrun::app
