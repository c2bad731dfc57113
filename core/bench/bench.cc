#include "core/bench/bench.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <stdexcept>

#include "core/errors.h"
#include "core/units.h"

namespace poolrun::core {

namespace {

std::uint64_t parse_count(const std::string& s, const std::string& spec) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 18)
    throw UsageError("task '" + spec + "': '" + s + "' is not a count of iterations (a whole number)");
  return std::stoull(s);
}

}  // namespace

BenchTask parse_bench_task(const std::string& spec) {
  BenchTask t;
  t.spec = spec;
  auto colon = spec.find(':');
  if (colon == std::string::npos)
    throw UsageError("task '" + spec + "': expected cpu:N, io:DURATION, read:FILE, mix:N,DURATION or square:DURATION");
  std::string kind = spec.substr(0, colon), arg = spec.substr(colon + 1);
  if (kind == "cpu") {
    t.kind = BenchTask::Kind::Cpu;
    t.iterations = parse_count(arg, spec);
  } else if (kind == "io") {
    t.kind = BenchTask::Kind::Io;
    t.sleep_s = t.sleep_max_s = parse_duration(arg);
  } else if (kind == "read") {
    t.kind = BenchTask::Kind::Read;
    if (arg.empty()) throw UsageError("task '" + spec + "': read needs a file: read:FILE");
    t.path = arg;
  } else if (kind == "mix") {
    t.kind = BenchTask::Kind::Mix;
    auto comma = arg.find(',');
    if (comma == std::string::npos) throw UsageError("task '" + spec + "': expected mix:N,DURATION");
    t.iterations = parse_count(arg.substr(0, comma), spec);
    t.sleep_s = t.sleep_max_s = parse_duration(arg.substr(comma + 1));
  } else if (kind == "square") {
    t.kind = BenchTask::Kind::Square;
    auto dash = arg.find('-');
    t.sleep_s = parse_duration(arg.substr(0, dash));
    t.sleep_max_s = dash == std::string::npos ? t.sleep_s : parse_duration(arg.substr(dash + 1));
    if (t.sleep_max_s < t.sleep_s) throw UsageError("task '" + spec + "': the range's upper end is below its lower end");
  } else {
    throw UsageError("task '" + spec + "': unknown kind '" + kind + "' (cpu, io, read, mix, square)");
  }
  return t;
}

bool task_mostly_waits(const BenchTask& t) {
  return t.kind == BenchTask::Kind::Io || t.kind == BenchTask::Kind::Read || t.kind == BenchTask::Kind::Square;
}

std::vector<std::size_t> parse_worker_list(const std::string& spec, std::size_t cpus, bool mostly_waits) {
  std::vector<std::size_t> out;
  if (spec == "auto") {
    std::size_t top = mostly_waits ? std::max<std::size_t>(32, 2 * cpus) : 2 * std::max<std::size_t>(cpus, 1);
    for (std::size_t p = 1; p <= top; p *= 2) out.push_back(p);
    if (!mostly_waits) out.push_back(top);
  } else {
    std::size_t pos = 0;
    while (pos <= spec.size()) {
      auto comma = spec.find(',', pos);
      std::string w = spec.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      if (w.empty() || w.find_first_not_of("0123456789") != std::string::npos || w.size() > 6 || std::stoul(w) == 0)
        throw UsageError("--workers: '" + spec + "': expected a list of positive numbers (1,2,4) or auto");
      out.push_back(std::stoul(w));
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

SampleStats sample_stats(const std::vector<double>& xs) {
  if (xs.empty()) throw std::invalid_argument("sample_stats: no values");
  SampleStats s;
  std::vector<double> v = xs;
  std::sort(v.begin(), v.end());
  s.min = v.front();
  s.max = v.back();
  std::size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  double sum = 0;
  for (double x : v) sum += x;
  s.mean = sum / static_cast<double>(n);
  if (n > 1) {
    double ss = 0;
    for (double x : v) ss += (x - s.mean) * (x - s.mean);
    s.stddev = std::sqrt(ss / static_cast<double>(n - 1));
  }
  return s;
}

void compute_bench_stats(std::vector<BenchConfig>& configs) {
  std::map<std::string, double> t1;
  for (auto& c : configs) {
    c.speedup.reset();
    c.efficiency.reset();
    c.karp_flatt.reset();
    c.utilisation.reset();
    c.utilisation_net.reset();
    std::vector<double> walls;
    double cpu = 0, wall = 0;
    double rq = 0;
    bool cpu_known = true, rq_known = true;
    for (const auto& r : c.runs) {
      walls.push_back(r.wall_s);
      cpu += r.user_s + r.sys_s;
      wall += r.wall_s;
      rq += r.runqueue_s;
      cpu_known = cpu_known && r.cpu_known;
      rq_known = rq_known && r.runqueue_known;
    }
    if (walls.empty()) continue;
    c.wall = sample_stats(walls);
    const double slots = wall * static_cast<double>(c.workers);
    if (cpu_known && wall > 0) c.utilisation = cpu / slots;
    if (cpu_known && rq_known && slots - rq > 0) c.utilisation_net = std::min(1.0, cpu / (slots - rq));
    if (c.workers == 1) t1[c.executor] = c.wall.mean;
  }
  for (auto& c : configs) {
    auto it = t1.find(c.executor);
    if (it == t1.end() || c.runs.empty() || c.wall.mean <= 0) continue;
    double s = it->second / c.wall.mean;
    double p = static_cast<double>(c.workers);
    c.speedup = s;
    c.efficiency = s / p;
    if (c.workers > 1) c.karp_flatt = (1 / s - 1 / p) / (1 - 1 / p);
  }
}

namespace {

int executor_rank(const std::string& e) {
  return e == "process" ? 0 : e == "thread" ? 1 : e == "command" ? 2 : 3;
}

}  // namespace

std::string describe_job_failure(const std::string& command, int exit_code, int signal, bool timed_out,
                                 const std::string& spawn_error) {
  if (!spawn_error.empty()) return command + ": " + spawn_error;
  if (timed_out) return command + ": timed out";
  if (signal != 0) return fmt::format("{}: ended by signal {}", command, signal);
  const auto start = command.find_first_not_of(" \t");
  const std::string word = start == std::string::npos
                               ? command
                               : command.substr(start, command.find_first_of(" \t", start) - start);
  if (exit_code == 127) return word + ": command not found (exit status 127)";
  if (exit_code == 126) return word + ": cannot execute (exit status 126)";
  return fmt::format("{}: exit status {}", command, exit_code);
}

BenchVerdict classify_bench(const std::vector<BenchConfig>& configs, std::size_t cpus) {
  BenchVerdict v;
  // Failed tasks first: their times are of work that was not done (a missing file is read in no
  // time), so they say nothing about the workload and must recommend nothing.
  std::size_t runs = 0, failed_runs = 0;
  bool commands = false;
  for (const auto& c : configs) {
    commands = commands || c.executor == "command";
    if (c.warmup_runs_failed > 0) {
      runs += c.warmup_runs_failed;
      failed_runs += c.warmup_runs_failed;
      v.tasks_failed += c.warmup_tasks_failed;
      if (v.error.empty()) v.error = c.warmup_error.empty() ? "a warm-up run failed" : c.warmup_error;
    }
    for (const auto& r : c.runs) {
      ++runs;
      const bool failed = r.tasks_failed > 0 || r.exit_status != 0 || !r.first_error.empty();
      if (!failed) continue;
      ++failed_runs;
      v.tasks_failed += r.tasks_failed;
      if (v.error.empty()) v.error = !r.first_error.empty() ? r.first_error
                                     : fmt::format("exit status {}", r.exit_status);
    }
  }
  if (failed_runs > 0) {
    v.kind = "failed";
    const char* what = commands ? "job" : "task";
    v.evidence.push_back(fmt::format("{} {}{} failed, in {} of {} run{}", v.tasks_failed, what,
                                     v.tasks_failed == 1 ? "" : "s", failed_runs, runs, runs == 1 ? "" : "s"));
    v.workers = 0;
    return v;
  }
  const BenchConfig* best = nullptr;
  for (const auto& c : configs)
    if (!c.runs.empty() && (!best || c.wall.mean < best->wall.mean)) best = &c;
  if (!best) {
    v.kind = "mixed";
    v.evidence.push_back("no runs were timed");
    return v;
  }
  v.best_wall_s = best->wall.mean;
  // Recommendation: fewest workers within 5% of the best mean.
  const BenchConfig* rec = nullptr;
  for (const auto& c : configs) {
    if (c.runs.empty() || c.wall.mean > best->wall.mean * 1.05) continue;
    if (!rec || c.workers < rec->workers ||
        (c.workers == rec->workers && executor_rank(c.executor) < executor_rank(rec->executor)))
      rec = &c;
  }
  v.executor = rec->executor;
  v.workers = rec->workers;

  // Utilisation with one worker says what a task does with its time; prefer an executor whose
  // one worker is not held back by an emulated lock (process first).
  const BenchConfig* one = nullptr;
  for (const auto& c : configs)
    if (c.workers == 1 && c.utilisation && (!one || executor_rank(c.executor) < executor_rank(one->executor)))
      one = &c;
  const BenchConfig* basis = one ? one : (best->utilisation ? best : nullptr);
  if (!basis) {
    v.kind = "mixed";
    v.evidence.push_back("no CPU time was measured (rusage is not available for this executor), so the "
                         "verdict rests on scaling only");
  } else {
    double u = basis->utilisation_net ? *basis->utilisation_net : *basis->utilisation;
    v.kind = u >= 0.7 ? "cpu-bound" : u <= 0.3 ? "io-bound" : "mixed";
    std::string net = basis->utilisation_net && *basis->utilisation < *basis->utilisation_net - 0.05
                          ? fmt::format(" ({:.0f}% of the wall time: the rest of the gap was spent waiting for a "
                                        "CPU another process held)",
                                        *basis->utilisation * 100)
                          : "";
    v.evidence.push_back(fmt::format("CPU utilisation {:.0f}%{} with {} {} worker{}: a task {}", u * 100, net,
                                     basis->workers, basis->executor, basis->workers == 1 ? "" : "s",
                                     u >= 0.7   ? "computes most of its time"
                                     : u <= 0.3 ? "waits most of its time"
                                                : "computes part of its time and waits the rest"));
  }
  // Scaling per executor: the best speedup, and whether it goes past the CPU count.
  std::map<std::string, const BenchConfig*> top;
  for (const auto& c : configs) {
    if (!c.speedup || c.executor == "serial") continue;
    auto& t = top[c.executor];
    if (!t || *c.speedup > *t->speedup) t = &c;
  }
  for (const auto& [exe, c] : top) {
    if (c->workers <= 1) {
      v.evidence.push_back(fmt::format("{}: no speedup from more workers (the lock or the CPUs serialise the tasks)", exe));
      continue;
    }
    std::string past = c->workers > cpus && *c->speedup > static_cast<double>(cpus) * 1.2
                           ? fmt::format(", beyond the {} CPUs: the tasks wait rather than compute", cpus)
                       : c->workers >= cpus && *c->speedup <= static_cast<double>(cpus) * 1.1 &&
                               *c->speedup >= static_cast<double>(cpus) * 0.7
                           ? fmt::format(", about the {} CPUs: the CPUs are the limit", cpus)
                           : "";
    v.evidence.push_back(fmt::format("{}: best speedup {:.2f} at {} workers (efficiency {:.0f}%){}", exe, *c->speedup,
                                     c->workers, *c->efficiency * 100, past));
  }
  return v;
}

namespace {

nlohmann::json opt(const std::optional<double>& x) { return x ? nlohmann::json(*x) : nlohmann::json(nullptr); }

nlohmann::json stats_json(const SampleStats& s) {
  return {{"mean", s.mean}, {"stddev", s.stddev}, {"median", s.median}, {"min", s.min}, {"max", s.max}};
}

std::string fmt_opt(const std::optional<double>& x, const char* f) {
  return x ? fmt::format(fmt::runtime(f), *x) : std::string("-");
}

std::string fmt_time(double s) {
  if (s < 1e-3) return fmt::format("{:.1f} µs", s * 1e6);
  if (s < 1) return fmt::format("{:.1f} ms", s * 1e3);
  return fmt::format("{:.3f} s", s);
}

}  // namespace

nlohmann::json bench_json(const BenchReport& r) {
  nlohmann::json j;
  j["schema"] = "poolrun-bench/1";
  j["workload"] = {{"kind", r.kind}, {"spec", r.workload}, {"tasks", r.tasks}, {"chunksize", r.chunksize},
                   {"gil", r.gil}, {"submit", r.submit}, {"start_method", r.start_method}};
  j["runs_per_config"] = r.runs;
  j["warmup"] = r.warmup;
  j["cpus"] = r.cpus;
  j["argv"] = r.argv;
  nlohmann::json cs = nlohmann::json::array();
  for (const auto& c : r.configs) {
    nlohmann::json runs = nlohmann::json::array();
    for (const auto& x : c.runs) {
      nlohmann::json run = {{"wall_s", x.wall_s},
                            {"user_s", x.cpu_known ? nlohmann::json(x.user_s) : nlohmann::json(nullptr)},
                            {"sys_s", x.cpu_known ? nlohmann::json(x.sys_s) : nlohmann::json(nullptr)},
                            {"runqueue_s", x.runqueue_known ? nlohmann::json(x.runqueue_s) : nlohmann::json(nullptr)},
                            {"tasks_failed", x.tasks_failed},
                            {"tasks_retried", x.tasks_retried},
                            {"workers_lost", x.workers_lost}};
      if (r.kind == "command") run["exit_status"] = x.exit_status;
      else run["checksum"] = x.checksum;
      run["error"] = x.first_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(x.first_error);
      runs.push_back(std::move(run));
    }
    cs.push_back({{"executor", c.executor},
                  {"workers", c.workers},
                  {"wall_s", stats_json(c.wall)},
                  {"speedup", opt(c.speedup)},
                  {"efficiency", opt(c.efficiency)},
                  {"karp_flatt", opt(c.karp_flatt)},
                  {"cpu_utilisation", opt(c.utilisation)},
                  {"cpu_utilisation_net", opt(c.utilisation_net)},
                  {"runs", std::move(runs)}});
  }
  j["configs"] = std::move(cs);
  j["verdict"] = {{"kind", r.verdict.kind},
                  {"evidence", r.verdict.evidence},
                  {"error", r.verdict.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.verdict.error)},
                  {"tasks_failed", r.verdict.tasks_failed}};
  if (r.verdict.has_recommendation())
    j["recommendation"] = {{"executor", r.verdict.executor},
                           {"workers", r.verdict.workers},
                           {"jobs_option", fmt::format("-j{}", r.verdict.workers)},
                           {"best_wall_s", r.verdict.best_wall_s}};
  else
    j["recommendation"] = nullptr;
  return j;
}

std::string bench_table(const BenchReport& r) {
  std::string out = fmt::format("{} × {} tasks, chunksize {}{}{}, {} run{} per config ({} warm-up), {} CPUs\n",
                                r.workload, r.tasks, r.chunksize, r.gil ? ", --gil" : "",
                                r.submit == "sync" ? ", --submit sync" : "", r.runs, r.runs == 1 ? "" : "s",
                                r.warmup, r.cpus);
  if (r.kind == "command") out = fmt::format("{} ({} start method), {} run{} per config ({} warm-up), {} CPUs\n",
                                             r.workload, r.start_method, r.runs, r.runs == 1 ? "" : "s", r.warmup, r.cpus);
  out += fmt::format("{:<9} {:>7} {:>22} {:>10} {:>10} {:>10} {:>7} {:>6} {:>6} {:>6}\n", "executor", "workers",
                     "mean ± σ", "median", "min", "max", "speedup", "eff", "serial", "cpu");
  for (const auto& c : r.configs) {
    if (c.runs.empty()) continue;
    std::string failed;
    std::size_t nf = 0, nl = 0;
    for (const auto& x : c.runs) nf += x.tasks_failed, nl += x.workers_lost;
    if (nl) failed += fmt::format("  ({} worker{} lost)", nl, nl == 1 ? "" : "s");
    if (nf) failed += fmt::format("  ({} {}{} failed)", nf, r.kind == "command" ? "job" : "task", nf == 1 ? "" : "s");
    out += fmt::format("{:<9} {:>7} {:>22} {:>10} {:>10} {:>10} {:>7} {:>6} {:>6} {:>6}{}\n", c.executor, c.workers,
                       fmt_time(c.wall.mean) + " ± " + fmt_time(c.wall.stddev), fmt_time(c.wall.median),
                       fmt_time(c.wall.min), fmt_time(c.wall.max), fmt_opt(c.speedup, "{:.2f}"),
                       c.efficiency ? fmt::format("{:.0f}%", *c.efficiency * 100) : "-",
                       fmt_opt(c.karp_flatt, "{:.2f}"),
                       c.utilisation ? fmt::format("{:.0f}%", *c.utilisation * 100) : "-", failed);
  }
  if (r.verdict.kind == "failed") {
    out += fmt::format("verdict: none: {} failed: {}\n", r.kind == "command" ? "the command" : "the tasks",
                       r.verdict.error);
    for (const auto& e : r.verdict.evidence) out += "  " + e + "\n";
    out += "no recommendation: the times are of work that failed\n";
    return out;
  }
  out += fmt::format("verdict: {}\n", r.verdict.kind);
  for (const auto& e : r.verdict.evidence) out += "  " + e + "\n";
  if (!r.verdict.has_recommendation()) return out;
  out += fmt::format("recommended: {} executor, -j{} (fewest workers within 5% of the best, {})\n",
                     r.verdict.executor, r.verdict.workers, fmt_time(r.verdict.best_wall_s));
  return out;
}

}  // namespace poolrun::core
