#include "app/batch_cmd.h"

#include "app/common_options.h"

#include <spdlog/spdlog.h>

#include <cstdlib>

#include "app/run_cmd.h"
#include "core/batch/batch.h"
#include "core/run/engine.h"
#include "core/errors.h"
#include "core/batch/junit.h"
#include "core/units.h"
#include "platform/fd.h"
#include "platform/host.h"
#include "core/run/start_method.h"
#include "platform/system.h"

namespace poolrun::app {

using poolrun::InputError;
using poolrun::UsageError;

void setup_batch(CLI::App& app, BatchOptions& o) {
  app.add_option("spec", o.spec,
                 "The job spec: a JSON file (a document, or JSON Lines with one job per line); - or a pipe: stdin")
      ->type_name("SPEC");
  app.add_option("-j,-P,--jobs", o.jobs, "Jobs at once: N, N% of CPUs, +N, -N, 0 (default: the spec's \"parallel\", else CPUs)")
      ->type_name("N");
  app.add_option("--timeout", o.timeout, "Default time limit per job (2.5, 300ms, 1m); a job's own \"timeout\" wins")
      ->type_name("DURATION");
  app.add_option("--retries", o.retries, "Default attempts per job, in all (as the main job's); a job's own wins")
      ->type_name("N");
  app.add_option("--termseq", o.termseq, "Signals and waits (ms) to end a job: default TERM,200,TERM,100,TERM,50,KILL,25")
      ->type_name("SEQ");
  app.add_flag("-k,--keep-order", o.keep_order, "Print jobs' output in the order they started, not as they end");
  app.add_flag("--dry-run", o.dry_run, "Check the spec, print each job's command in an order it could run; run nothing");
  app.add_flag("--no-headers", o.no_headers, "No \"=== name: status in time ===\" line before each job's output");
  add_report_options(app, o);
  app.add_option("--junit", o.junit, "Write a JUnit XML report (a testcase per job) to FILE at the end")->type_name("FILE");
  app.add_option("--results", o.results, "Keep each job's stdout, stderr, seq, exit status and record in DIR/<name>/")
      ->type_name("DIR");
  add_run_options(app, o);
  app.footer(
      "A spec:\n"
      "  {\"parallel\": 4, \"timeout\": \"10m\", \"jobs\": [\n"
      "    {\"name\": \"build\", \"cmd\": \"make -j8\"},\n"
      "    {\"name\": \"unit\", \"cmd\": [\"make\", \"check\"], \"needs\": [\"build\"]},\n"
      "    {\"name\": \"lint\", \"cmd\": \"make lint\", \"needs\": [\"build\"],\n"
      "     \"allow_failure\": true},\n"
      "    {\"name\": \"package\", \"cmd\": \"make dist\", \"needs\": [\"unit\", \"lint\"]}]}\n"
      "Job keys: name, cmd, needs, env, cwd, timeout, retries, shell, allow_failure; top level: parallel,\n"
      "timeout, retries, env, cwd, shell, jobs. A job runs once all its needs succeeded; it is skipped if\n"
      "one failed. Exit status: the number of failed jobs without allow_failure (0: all good), 255 for an\n"
      "invalid spec. See docs/batch.md.");
}

core::RunConfig make_batch_config(const BatchOptions& o, const std::optional<std::string>& spec_parallel,
                                  const std::optional<double>& spec_timeout,
                                  const std::optional<std::size_t>& spec_retries, const std::vector<std::string>& argv,
                                  const std::string& env_shell, const std::string& env_method) {
  core::RunConfig c;
  c.argv = argv;
  std::size_t cpus = platform::available_cpus();
  if (!o.jobs.empty()) c.jobs = core::parse_jobs(o.jobs, cpus);
  else if (spec_parallel) c.jobs = core::parse_jobs(*spec_parallel, cpus);
  else c.jobs = cpus;
  if (!o.timeout.empty()) {
    if (o.timeout.back() == '%')
      throw UsageError("--timeout: a percentage of the median runtime makes no sense for a batch of different jobs; "
                       "give a duration, got '" + o.timeout + "'");
    c.timeout_s = core::parse_duration(o.timeout);
  } else if (spec_timeout) {
    c.timeout_s = *spec_timeout;
  }
  if (o.retries > 0) c.retries = o.retries;
  else if (spec_retries && *spec_retries > 0) c.retries = *spec_retries;
  if (!o.termseq.empty()) c.termseq = parse_termseq(o.termseq);
  c.keep_order = o.keep_order;
  c.dry_run = o.dry_run;
  apply_report_options(o, c);
  std::string method = !o.start_method.empty() ? o.start_method : env_method;
  if (!method.empty())
    c.start_method = core::parse_start_method(method, o.start_method.empty() ? "POOLRUN_START_METHOD" : "--start-method");
  if (!env_shell.empty()) c.shell = env_shell;
  return c;
}

namespace {

std::string read_all(int fd, const std::string& name) {
  std::string text;
  if (auto ec = platform::read_file(fd, text)) throw InputError(name + ": cannot read: " + ec.message());
  return text;
}

/// The spec's text and the name messages use for it.
std::pair<std::string, std::string> read_spec(const std::string& arg) {
  if (arg.empty() || arg == "-") {
    // Without a file, read stdin only when something is piped or redirected into it: a terminal
    // or /dev/null there means the file was forgotten.
    if (arg.empty() && !platform::is_pipe_or_socket(0) && !platform::is_regular_file(0))
      throw UsageError("batch: no spec given: poolrun batch FILE, or pipe JSON Lines into poolrun batch - "
                       "(see poolrun batch --help)");
    return {read_all(0, "<stdin>"), "<stdin>"};
  }
  std::error_code ec;
  auto fd = platform::open_read(arg, ec);
  if (ec) throw InputError(arg + ": cannot open the spec: " + ec.message());
  return {read_all(fd.get(), arg), arg};
}

constexpr std::size_t kJUnitOutputMax = 1u << 20;  // bytes of each stream in <system-out/err>

core::JUnitSuite junit_suite(const core::BatchSpec& spec, const core::BatchSource& source, double start, double wall_s) {
  core::JUnitSuite suite;
  suite.time_s = wall_s;
  suite.timestamp = start;
  suite.hostname = platform::host_name();
  const auto& outcomes = source.outcomes();
  for (std::size_t i = 0; i < spec.jobs.size(); ++i) {
    const core::BatchJob& job = spec.jobs[i];
    const core::BatchOutcome& oc = outcomes[i];
    core::JUnitCase c;
    if (oc.record) {
      c = core::junit_case(*oc.record, job.allow_failure);
    } else {
      // No record: the run stopped (a signal) before the job was handed out, or while it waited
      // for another attempt.
      c.name = job.name;
      if (oc.state == core::BatchOutcome::State::Failed) {
        c.result = core::JUnitCase::Result::Failed;
        c.type = "stopped";
        c.message = "failed; the run stopped before it could be retried";
      } else {
        c.result = core::JUnitCase::Result::Skipped;
        c.message = "not run: the run stopped before this job started";
      }
    }
    if (oc.record && oc.record->status != "skipped") {
      for (int s = 0; s < 2; ++s) {
        std::uint64_t omitted = 0;
        auto text = source.captured(i, s, kJUnitOutputMax, omitted);
        if (!text || text->empty()) continue;
        if (omitted)
          text->insert(0, "[poolrun: the first " + std::to_string(omitted) +
                              " bytes are left out here; --results DIR keeps the whole output]\n");
        (s == 0 ? c.out : c.err) = std::move(*text);
      }
    }
    suite.cases.push_back(std::move(c));
  }
  return suite;
}

}  // namespace

int run_batch(const BatchOptions& o, const std::vector<std::string>& argv) {
  auto [text, source_name] = read_spec(o.spec);
  core::BatchSpec spec = core::parse_batch_spec(text, source_name);
  text.clear();

  const char* shell_env = std::getenv("POOLRUN_SHELL");
  const char* method_env = std::getenv("POOLRUN_START_METHOD");
  core::RunConfig cfg = make_batch_config(o, spec.parallel, spec.timeout_s, spec.retries, argv,
                                          shell_env ? shell_env : "", method_env ? method_env : "");
  if (!spec.shell.empty()) cfg.shell = spec.shell;

  core::BatchSourceOptions sopt;
  sopt.default_shell = shell_env && *shell_env ? shell_env : "/bin/sh";
  sopt.headers = !o.no_headers;
  sopt.dry_run = o.dry_run;
  // --junit needs the output too: without --results it goes to a private directory that is
  // removed at the end.
  platform::PrivateTempDir tmp;
  if (!o.dry_run) {
    if (!o.results.empty()) {
      sopt.capture_dir = o.results;
    } else if (!o.junit.empty()) {
      std::error_code ec;
      sopt.capture_dir = tmp.path_or_create(ec);
      if (ec) throw poolrun::SystemError("cannot create a temporary directory: " + ec.message());
    }
  }
  // Report files are opened before anything runs, so that a bad path costs no run.
  platform::UniqueFd junit_fd;
  if (!o.junit.empty() && !o.dry_run) {
    std::error_code ec;
    junit_fd = platform::open_write(o.junit, false, ec);
    if (ec) throw InputError(o.junit + ": cannot open the JUnit report: " + ec.message());
  }
  cfg.results_dir = sopt.capture_dir;
  core::BatchSource source(spec, sopt);
  source.prepare_capture_dir();
  if (spec.jobs.empty()) spdlog::warn("{}: no jobs", spec.source);

  auto launcher = core::make_launcher(cfg.start_method);
  double start = platform::wall_now();
  double t0 = platform::monotonic_now();
  int status = core::run_jobs(cfg, source, *launcher);
  double wall = platform::monotonic_now() - t0;
  if (junit_fd) {
    if (auto wec = platform::write_all(junit_fd.get(), core::junit_xml(junit_suite(spec, source, start, wall))))
      throw InputError(o.junit + ": cannot write the JUnit report: " + wec.message());
  }
  return status;
}

}  // namespace poolrun::app
