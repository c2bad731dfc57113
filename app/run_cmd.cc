#include "app/run_cmd.h"

#include "app/common_options.h"

#include <csignal>
#include <cstdlib>
#include <cstring>

#include "core/run/engine.h"
#include "core/errors.h"
#include "core/input/split.h"
#include "core/units.h"
#include "core/run/start_method.h"
#include "platform/system.h"

namespace poolrun::app {

using poolrun::UsageError;

void setup_run(OptionBinder& b, RunOptions& o) {
  b.add_option("-j,-P,--jobs", o.jobs, "Job slots: N, N% of CPUs, +N, -N, or 0 for as many as possible (default: CPUs)")
      ->type_name("N");
  b.add_option("-N,--max-args", o.max_args, "Records per job; {1}..{N} name them")
      ->check(CLI::Range(0LL, 1000000000LL))
      ->type_name("N");
  b.add_flag("-X", o.xargs, "As many records per command line as fit under the kernel's limit (context replace)");
  b.add_option("-a,--arg-file", o.arg_files, "Read items from FILE (repeatable: combined like ::::)")
      ->type_size(1)
      ->allow_extra_args(false)
      ->type_name("FILE");
  b.add_flag("-0,--null", o.null, "Items end with NUL instead of newline");
  b.add_option("-d,--delimiter", o.delimiter, "Items end with DELIM (C escapes: \\n \\t \\r\\n \\0 \\xHH)")
      ->type_name("DELIM");
  b.add_option("--colsep", o.colsep, "Split each item into columns {1}..{n} at REGEX")->type_name("REGEX");
  b.add_option("--header", o.header, "':' to take the first item of each source as column names ({name})")
      ->type_name("HEADER");
  b.add_option("-I", o.replace, "Use STR instead of {} as the replacement string")->type_name("STR");
  b.add_flag("--link,--xapply", o.link, "Pair input sources element-wise instead of a cartesian product");
  b.add_flag("-k,--keep-order", o.keep_order, "Print output in input order (jobs still run in parallel)");
  b.add_flag("--line-buffer,--lb", o.line_buffer, "Print whole lines as they arrive; jobs interleave by line");
  b.add_flag("-u,--ungroup", o.ungroup, "Let jobs write straight to poolrun's stdout/stderr");
  b.add_flag("--group", o.group, "Print each job's output whole when it ends (the default)");
  b.add_flag("--tag", o.tag, "Prefix each output line with the job's items and a tab");
  b.add_option("--tagstring", o.tagstring, "Prefix each output line with STR (replacement strings allowed) and a tab")
      ->type_name("STR");
  b.add_flag("--dry-run", o.dry_run, "Print each command line instead of running it");
  add_report_options(b, o);
  b.add_option("--timeout", o.timeout, "End a job after DURATION (2.5, 300ms, 1m) or N% of the median runtime")
      ->type_name("DURATION");
  b.add_option("--termseq", o.termseq, "Signals and waits (ms) to end a job: default TERM,200,TERM,100,TERM,50,KILL,25")
      ->type_name("SEQ");
  b.add_option("--retries", o.retries, "Attempts per job before it counts as failed (total, as GNU parallel)")
      ->check(CLI::Range(0LL, 1000000LL))
      ->type_name("N");
  b.add_option("--halt", o.halt, "Stop early: now|soon,fail|success|done=N|N% (GNU parallel's --halt)")
      ->type_name("SPEC");
  b.add_flag("--progress", o.progress, "Show done/running/failed counts and the rate on stderr (terminal only)");
  b.add_flag("--eta", o.eta, "Show the estimated time left on stderr (terminal only)");
  b.add_flag("--bar", o.bar, "Show a progress bar on stderr (terminal only)");
  b.add_option("--results", o.results, "Save each job's stdout, stderr and seq under DIR (GNU parallel's layout)")
      ->type_name("DIR");
  b.add_flag("--resume", o.resume, "Skip jobs the --joblog already lists; append to it");
  b.add_flag("--resume-failed", o.resume_failed, "Skip jobs the --joblog lists as succeeded; rerun the rest");
  b.add_flag("--retry-failed", o.retry_failed, "Rerun the failed commands of the --joblog (ignores the command line's command and inputs)");
  add_run_options(b, o);
  add_map_options(b, o.map);
  add_pipe_options(b, o.pipe);
  // As GNU parallel (and getopt tools), an option given twice takes its last value, so aliases
  // such as `alias p='poolrun -j4'` can be overridden; -a and the flags accumulate.
  for (CLI::Option* opt : b.app().get_options()) {
    if (opt->get_items_expected_max() == 1) opt->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  }
  // Shown in --help only: split_options() hands the command words over before CLI11 parses.
  b.app().add_option("command", o.rest, "Command, its arguments, then ::: items or :::: files")->expected(-1);
}

namespace {
/// True when the argv word `a` ends the option words and starts the command: a word that does not
/// start with '-', or "-" alone (GNU parallel's rule; "--" is handled by the callers).
bool starts_command(const std::string& a) { return a.size() < 2 || a[0] != '-'; }
}  // namespace

std::optional<std::vector<std::string>> command_only(const std::vector<std::string>& args) {
  if (args.empty() || starts_command(args[0])) return args;
  if (args[0] == "--") return std::vector<std::string>(args.begin() + 1, args.end());
  return std::nullopt;
}

std::vector<std::string> split_options(const CLI::App& app, const std::vector<std::string>& args,
                                       std::vector<std::string>& rest) {
  std::vector<std::string> opts;
  auto takes_value = [&](const std::string& name) {
    const CLI::Option* o = app.get_option_no_throw(name);
    if (!o || o->get_positional()) {
      if (name == "--help" || name == "-h" || name == "--version") return false;
      throw UsageError("unknown option '" + name + "' (see poolrun --help)");
    }
    return o->get_items_expected_max() > 0;  // flags expect no items
  };
  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (starts_command(a)) break;  // the command starts here ("-" alone too)
    if (a.rfind("--", 0) == 0) {
      auto eq = a.find('=');
      std::string name = a.substr(0, eq);
      // "--name=" gives no value: refused, as GNU parallel does ("requires an argument"); CLI11
      // would take the next word as the value instead.
      if (eq + 1 == a.size() && takes_value(name)) throw UsageError("option '" + name + "' needs a value");
      opts.push_back(a);
      if (takes_value(name) && eq == std::string::npos) {
        if (i + 1 >= args.size()) throw UsageError("option '" + name + "' needs a value");
        opts.push_back(args[++i]);
      }
      continue;
    }
    // A cluster of short options: "-kv", "-j2", "-kj 2".
    opts.push_back(a);
    for (std::size_t k = 1; k < a.size(); ++k) {
      if (!takes_value(std::string("-") + a[k])) continue;
      if (k + 1 == a.size()) {
        if (i + 1 >= args.size()) throw UsageError(std::string("option '-") + a[k] + "' needs a value");
        opts.push_back(args[++i]);
      }
      break;  // the rest of the word is the value
    }
  }
  rest.assign(args.begin() + static_cast<long>(i), args.end());
  return opts;
}

static int signal_number(const std::string& s) {
  static const std::pair<const char*, int> names[] = {
      {"HUP", SIGHUP}, {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL}, {"USR1", SIGUSR1},
      {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"ALRM", SIGALRM}};
  std::string n = s.rfind("SIG", 0) == 0 ? s.substr(3) : s;
  for (const auto& [name, num] : names)
    if (n == name) return num;
  char* end = nullptr;
  long v = std::strtol(n.c_str(), &end, 10);
  if (!n.empty() && end && *end == '\0' && v > 0 && v < 65) return static_cast<int>(v);
  throw UsageError("--termseq: unknown signal '" + s + "'");
}

std::vector<core::TermStep> parse_termseq(const std::string& spec) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    auto comma = spec.find(',', start);
    parts.push_back(spec.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  std::vector<core::TermStep> out;
  for (std::size_t i = 0; i < parts.size(); i += 2) {
    core::TermStep st;
    st.signal = signal_number(parts[i]);
    st.wait_ms = 0;
    if (i + 1 < parts.size()) {
      char* end = nullptr;
      long ms = std::strtol(parts[i + 1].c_str(), &end, 10);
      if (parts[i + 1].empty() || *end != '\0' || ms < 0)
        throw UsageError("--termseq: expected milliseconds after " + parts[i] + ", got '" + parts[i + 1] + "'");
      st.wait_ms = static_cast<int>(ms);
    }
    out.push_back(st);
  }
  if (out.empty()) throw UsageError("--termseq: empty");
  return out;
}

core::HaltPolicy parse_halt(const std::string& spec) {
  using H = core::HaltPolicy;
  H h;
  auto bad = [&]() { return UsageError("--halt: expected now|soon,fail|success|done=N|N%, got '" + spec + "'"); };
  if (spec == "0" || spec == "never") return h;
  if (spec == "1") return H{H::When::Soon, H::Why::Fail, 1, false};
  if (spec == "2") return H{H::When::Now, H::Why::Fail, 1, false};
  if (spec == "-1") return H{H::When::Soon, H::Why::Success, 1, false};
  if (spec == "-2") return H{H::When::Now, H::Why::Success, 1, false};
  auto comma = spec.find(',');
  if (comma == std::string::npos) throw bad();
  std::string when = spec.substr(0, comma), rest = spec.substr(comma + 1);
  if (when == "now") h.when = H::When::Now;
  else if (when == "soon") h.when = H::When::Soon;
  else throw bad();
  auto eq = rest.find('=');
  std::string why = rest.substr(0, eq);
  if (why == "fail") h.why = H::Why::Fail;
  else if (why == "success") h.why = H::Why::Success;
  else if (why == "done") h.why = H::Why::Done;
  else throw bad();
  if (eq != std::string::npos) {
    std::string n = rest.substr(eq + 1);
    if (!n.empty() && n.back() == '%') {
      h.percent = true;
      n.pop_back();
    }
    char* end = nullptr;
    double v = std::strtod(n.c_str(), &end);
    if (n.empty() || *end != '\0' || v <= 0) throw bad();
    h.count = v;
  }
  return h;
}

core::RunConfig make_run_config(const RunOptions& o, const std::vector<std::string>& argv,
                                const std::string& env_shell, const std::string& env_method) {
  core::RunConfig c;
  c.argv = argv;
  std::size_t cpus = platform::available_cpus();
  c.jobs = o.jobs ? core::parse_jobs(*o.jobs, cpus) : cpus;
  if (o.max_args) c.max_args = static_cast<std::size_t>(*o.max_args);  // -N0: one item per job, none substituted
  c.xargs = o.xargs;
  if (o.null) c.delimiter = std::string(1, '\0');
  if (o.delimiter) c.delimiter = core::parse_delimiter(*o.delimiter);  // "" is an error there
  if (!o.colsep.empty()) c.colsep = o.colsep;
  if (!o.header.empty() && !o.pipe.enabled()) {
    if (o.header != ":") throw UsageError("--header: only ':' (names from the first item) is supported, got '" + o.header + "'");
    c.header = true;
  }
  if (o.replace) {
    if (o.replace->empty()) throw UsageError("-I: the replacement string must not be empty");
    c.replace = *o.replace;
  }
  c.link = o.link;
  c.keep_order = o.keep_order;
  int modes = int(o.line_buffer) + int(o.ungroup) + int(o.group);
  if (modes > 1) throw UsageError("--group, --line-buffer and --ungroup exclude each other");
  if (o.line_buffer) c.output = core::OutputMode::LineBuffer;
  if (o.ungroup) c.output = core::OutputMode::Ungroup;
  c.tag = o.tag;
  if (!o.tagstring.empty()) c.tagstring = o.tagstring;
  c.dry_run = o.dry_run;
  apply_report_options(o, c);
  if (!o.timeout.empty()) {
    if (o.timeout.back() == '%') {
      char* end = nullptr;
      std::string n = o.timeout.substr(0, o.timeout.size() - 1);
      double v = std::strtod(n.c_str(), &end);
      if (n.empty() || *end != '\0' || v <= 0) throw UsageError("--timeout: bad percentage '" + o.timeout + "'");
      c.timeout_percent = v;
    } else {
      c.timeout_s = core::parse_duration(o.timeout);
    }
  }
  c.results_dir = o.results;
  c.progress = o.progress;
  c.eta = o.eta;
  c.bar = o.bar;
  if (o.resume + o.resume_failed + o.retry_failed > 1)
    throw UsageError("--resume, --resume-failed and --retry-failed exclude each other");
  if (o.resume) c.resume = core::RunConfig::Resume::All;
  if (o.resume_failed) c.resume = core::RunConfig::Resume::Failed;
  c.retry_failed = o.retry_failed;
  if ((o.resume || o.resume_failed || o.retry_failed)) {
    if (c.joblog_path.empty()) throw UsageError("--resume, --resume-failed and --retry-failed need --joblog FILE");
    if (c.joblog_path == "-")
      throw UsageError("--resume, --resume-failed and --retry-failed read the joblog: it must be a file, not '-'");
    c.joblog_append = true;  // the earlier rows stay: they are what the next resume reads
  }
  if (!o.termseq.empty()) c.termseq = parse_termseq(o.termseq);
  if (o.retries && *o.retries > 0) c.retries = static_cast<std::size_t>(*o.retries);  // 0 means 1, as GNU
  if (!o.halt.empty()) c.halt = parse_halt(o.halt);
  std::string method = !o.start_method.empty() ? o.start_method : env_method;
  if (!method.empty())
    c.start_method = core::parse_start_method(method, o.start_method.empty() ? "POOLRUN_START_METHOD" : "--start-method");
  if (!env_shell.empty()) c.shell = env_shell;

  // The command words run up to the first input group marker; then groups of items or files.
  std::size_t i = 0;
  while (i < o.rest.size() && o.rest[i] != ":::" && o.rest[i] != "::::" && o.rest[i] != ":::+" &&
         o.rest[i] != "::::+")
    c.command.push_back(o.rest[i++]);
  if (!c.command.empty() && c.command.front() == "--") c.command.erase(c.command.begin());
  while (i < o.rest.size()) {
    const std::string& marker = o.rest[i++];
    if (marker == ":::+" || marker == "::::+") c.link = true;  // GNU: link this source to the previous
    if (marker == ":::" || marker == ":::+") {
      core::InputSource src;
      src.kind = core::InputSource::Kind::List;
      while (i < o.rest.size() && o.rest[i] != ":::" && o.rest[i] != "::::" && o.rest[i] != ":::+" &&
             o.rest[i] != "::::+")
        src.values.push_back(o.rest[i++]);
      c.sources.push_back(std::move(src));
    } else {
      bool any = false;
      while (i < o.rest.size() && o.rest[i] != ":::" && o.rest[i] != "::::" && o.rest[i] != ":::+" &&
             o.rest[i] != "::::+") {
        core::InputSource src;
        src.kind = core::InputSource::Kind::File;
        src.path = o.rest[i++];
        c.sources.push_back(std::move(src));
        any = true;
      }
      if (!any) throw UsageError(marker + " needs at least one file");
    }
  }
  for (const auto& f : o.arg_files) {
    core::InputSource src;
    src.kind = core::InputSource::Kind::File;
    src.path = f;
    c.sources.push_back(std::move(src));
  }
  apply_pipe_options(o.pipe, o.max_args, o.null, o.header, c);
  return c;
}

int run_main(const RunOptions& o, const std::vector<std::string>& argv) {
  const char* shell = std::getenv("POOLRUN_SHELL");
  const char* method = std::getenv("POOLRUN_START_METHOD");
  core::RunConfig cfg = make_run_config(o, argv, shell ? shell : "", method ? method : "");
  core::MapConfig map_cfg = make_map_config(o.map, o.map.map ? cfg : core::RunConfig{});
  auto launcher = core::make_launcher(cfg.start_method);
  if (o.map.map) return core::run_map(map_cfg, *launcher);
  return core::run_main_job(cfg, *launcher);
}

}  // namespace poolrun::app
