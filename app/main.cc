// poolrun's entry point: picks the subcommand, parses its options, runs it, and turns every error
// into one line on stderr and exit status 255.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "app/batch_cmd.h"
#include "app/bench_cmd.h"
#include "app/completion_cmd.h"
#include "app/help_format.h"
#include "app/messages.h"
#include "app/report_cmd.h"
#include "app/run_cmd.h"
#include "core/errors.h"
#include "platform/bench/worker.h"
#include "platform/process/builtin.h"
#include "platform/system.h"

namespace {

/// Every message poolrun prints on stderr has one form, "poolrun: LEVEL: text" (LEVEL: error,
/// warning, info, debug), as GNU parallel's "parallel: Error: text" and most GNU tools'. The
/// logger goes in first, so that nothing logged while options are parsed reaches spdlog's default
/// logger (stdout, another format); warnings and errors until the options set the level.
void install_logger() {
  auto logger = spdlog::stderr_logger_st("poolrun");
  logger->set_pattern("poolrun: %l: %v");
  logger->set_level(spdlog::level::warn);
  spdlog::set_default_logger(logger);
}

void set_log_level(int verbose, bool quiet) {
  spdlog::default_logger_raw()->set_level(quiet ? spdlog::level::err
                                          : verbose >= 2 ? spdlog::level::debug
                                          : verbose == 1 ? spdlog::level::info
                                                         : spdlog::level::warn);
}

int fail(const std::string& msg) {
  poolrun::app::print_error(msg);
  return 255;
}

/// A CLI11 parse error of subcommand `cmd` ("batch", "bench") as one line: its own words for an
/// unknown option, CLI11's text otherwise.
int fail_parse(const std::string& cmd, const CLI::ParseError& e) {
  return fail(cmd + ": " + poolrun::app::parse_error_text(e, "poolrun " + cmd));
}

/// `poolrun batch ...`: the batch subcommand, with its own options (app/batch_cmd.h).
int batch_main(const std::vector<std::string>& args) {
  CLI::App app{"poolrun batch: run named jobs with dependencies from a JSON spec (see docs/batch.md)",
               "poolrun batch"};
  poolrun::app::set_help_format(app);
  poolrun::app::BatchOptions opts;
  poolrun::app::setup_batch(app, opts);
  try {
    app.parse(std::vector<std::string>(args.rbegin(), args.rend() - 2));  // CLI11 pops from the back
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail_parse("batch", e);
  }
  set_log_level(opts.verbose, opts.quiet);
  return poolrun::app::run_batch(opts, args);  // errors: main's catch
}

/// `poolrun bench ...`: times a workload over worker counts and executors (app/bench_cmd.h).
int bench_main(const std::vector<std::string>& args) {
  CLI::App app{"poolrun bench: CPU-bound or I/O-bound? threads or processes? how many workers? (see docs/bench.md)",
               "poolrun bench"};
  poolrun::app::set_help_format(app);
  poolrun::app::BenchOptions opts;
  poolrun::app::setup_bench(app, opts);
  // Words after "--" are a command with its ::: inputs, not options of bench.
  auto dash = std::find(args.begin() + 2, args.end(), std::string("--"));
  if (dash != args.end()) opts.command.assign(dash + 1, args.end());
  try {
    app.parse(std::vector<std::string>(std::make_reverse_iterator(dash), args.rend() - 2));
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail_parse("bench", e);
  }
  set_log_level(opts.verbose, opts.quiet);
  return poolrun::app::run_bench(opts, args);  // errors: main's catch
}

/// Parses the main job's options from poolrun's argv into `run_opts` (its `rest` gets the command
/// words and input groups). Returns -1 to go on and run, or the exit status when poolrun is done:
/// 0 after --help, --version or --completion, 255 after one line on stderr for a usage error.
int parse_main_options(const std::vector<std::string>& args, poolrun::app::RunOptions& run_opts) {
  CLI::App app{"poolrun: run a command over many inputs in parallel (GNU parallel compatible)", "poolrun"};
  poolrun::app::set_help_format(app);
  app.set_version_flag("--version", std::string("poolrun ") + POOLRUN_VERSION);
  // Handled before parsing when it is the first word (completion_main); declared so that --help
  // and the completion scripts list it, and so that anywhere else it is refused by name.
  std::string completion_shell;
  app.add_option("--completion", completion_shell, "Print the bash or zsh completion script and exit")
      ->type_name("SHELL");
  app.footer("Examples:\n  find . -name '*.txt' | poolrun gzip -k {}\n  poolrun -k echo {} ::: a b c\n"
             "See man poolrun for every option; poolrun batch --help for job specs with dependencies;\n"
             "poolrun bench --help for CPU- vs I/O-bound, threads vs processes; poolrun report timeline\n"
             "RUN.json --svg FILE for a chart of a run.");
  std::vector<std::string> words(args.begin() + 1, args.end());
  std::set<std::string> names = poolrun::app::option_names_in(words);
  // --help and the completion scripts show every option; a parse needs only those it may meet.
  if (poolrun::app::is_completion_request(args) || names.count("-h") || names.count("--help")) {
    poolrun::app::OptionBinder all(app);
    poolrun::app::setup_run(all, run_opts);
  } else {
    poolrun::app::OptionBinder named(app, std::move(names));
    poolrun::app::setup_run(named, run_opts);
  }
  if (poolrun::app::is_completion_request(args)) return poolrun::app::completion_main(app, args);
  try {
    std::vector<std::string> rest;
    std::vector<std::string> opts = poolrun::app::split_options(app, words, rest);
    // CLI11 parses a reversed vector (it pops from the back).
    std::reverse(opts.begin(), opts.end());
    app.parse(opts);
    if (!completion_shell.empty())
      throw poolrun::UsageError("--completion comes alone: poolrun --completion bash|zsh");
    run_opts.rest = std::move(rest);
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    return fail(poolrun::app::parse_error_text(e, "poolrun"));
  } catch (const poolrun::UsageError& e) {
    return fail(e.what());
  }
  return -1;
}

/// Every subcommand but the built-in entry points. Errors are thrown to main.
int dispatch(const std::vector<std::string>& args) {
  if (args.size() >= 2 && args[1] == "batch") return batch_main(args);
  if (args.size() >= 2 && args[1] == "report") return poolrun::app::report_main(args);
  if (args.size() >= 2 && args[1] == "bench") return bench_main(args);
  poolrun::app::RunOptions run_opts;
  if (auto rest = poolrun::app::command_only(std::vector<std::string>(args.begin() + 1, args.end()))) {
    // `poolrun cmd ::: items` has no options: CLI11 would bind nothing, and building its App
    // (every option of the main job) is most of poolrun's start-up work.
    run_opts.rest = std::move(*rest);
  } else if (int status = parse_main_options(args, run_opts); status >= 0) {
    return status;
  }
  set_log_level(run_opts.verbose, run_opts.quiet);
  return poolrun::app::run_main(run_opts, args);
}

/// POOLRUN_DEBUG_FD_CHECK=1, for poolrun's own tests (tests/cli/test_fds.sh): every fd poolrun
/// opened must be closed again when the run ends. Names each fd open now that was not open at
/// start-up (`before`) on stderr; then the exit status is 255 whatever it was (`status`).
int check_fds(const std::vector<std::pair<int, std::string>>& before, int status) {
  std::vector<std::pair<int, std::string>> now;
  if (auto ec = poolrun::platform::list_open_fds(now)) return fail("fd check: /proc/self/fd: " + ec.message());
  bool leaked = false;
  for (const auto& entry : now) {
    const int fd = entry.first;
    const std::string& what = entry.second;
    bool inherited = std::any_of(before.begin(), before.end(), [fd](const auto& b) { return b.first == fd; });
    if (inherited) continue;
    poolrun::app::print_error("fd check: fd " + std::to_string(fd) + " (" + what + ") is still open at exit");
    leaked = true;
  }
  return leaked ? 255 : status;
}

}  // namespace

int main(int argc, char** argv) {
  // Whether poolrun's stdout is open is asked before anything opens an fd: the first open would
  // take the free fd 1, and the output meant for stdout would go to that file or pipe.
  const bool stdout_open = poolrun::platform::fd_is_open(1);
  poolrun::platform::ensure_stdio_open();  // a closed stdin or stderr becomes /dev/null
  // Built-in entry points first: the spawn start method execs poolrun to run one.
  poolrun::platform::register_builtin(poolrun::platform::kBenchWorkerEntry, &poolrun::platform::run_builtin_worker);
  poolrun::platform::run_builtin_if_asked(argc, argv);
  install_logger();
  // A closed stdout (`poolrun ... >&-`) would lose every job's output while poolrun exits 0 (GNU
  // parallel does so): it is an error before anything runs, for every subcommand. With stderr
  // closed too, the line goes to /dev/null and the exit status alone tells.
  if (!stdout_open) {
    poolrun::app::print_error("standard output is closed: the output would be lost (redirect it to /dev/null to discard it)");
    return 255;
  }
  // The one catch: errors before any job runs (usage, unreadable inputs, report files that cannot
  // be opened). Once jobs run, the engines turn every failure into a stop reason and return 255
  // themselves, after reaping every child: nothing they start is left behind by a throw.
  // POOLRUN_DEBUG_FD_CHECK=1: what is open now is poolrun's inheritance; anything else open at
  // the end was opened by poolrun and left open.
  const char* fd_check = std::getenv("POOLRUN_DEBUG_FD_CHECK");
  std::vector<std::pair<int, std::string>> inherited;
  const bool check = fd_check && std::string(fd_check) == "1" && !poolrun::platform::list_open_fds(inherited);
  int status;
  try {
    status = dispatch(std::vector<std::string>(argv, argv + argc));
  } catch (const std::exception& e) {
    status = fail(e.what());
  }
  return check ? check_fds(inherited, status) : status;
}
