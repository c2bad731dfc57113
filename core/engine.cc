#include "core/engine.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <unordered_map>

#include "core/errors.h"
#include "core/input.h"
#include "core/output.h"
#include "core/quote.h"
#include "core/report.h"
#include "core/template.h"
#include "platform/event_loop.h"
#include "platform/spill.h"
#include "platform/system.h"

namespace poolrun::core {
namespace {

using platform::UniqueFd;

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::uint64_t kTokenSignals = 1;
constexpr std::uint64_t kTokenInput = 2;
constexpr std::uint64_t kTokenLauncher = 3;
constexpr std::uint64_t kTokenJobBase = 16;  // job streams: kTokenJobBase + slot * 2 + stream

/// Why the run stopped starting new jobs.
enum class Stop { None, Hangup, Halt, Signal, Pipe, InputError };

/// A running (or finished, waiting to be printed) job.
struct Job {
  explicit Job(OutputBudget& b) : held{HeldOutput(b), HeldOutput(b)}, partial{HeldOutput(b), HeldOutput(b)} {}
  JobInput input;
  std::size_t attempt = 1;
  std::string command;  // the shell line (for reports and --dry-run)
  int pid = -1;
  double start_mono = 0, start_wall = 0, end_mono = 0, end_wall = 0;
  UniqueFd pipes[2];      // stdout, stderr read ends
  HeldOutput held[2];     // grouped output, or a non-live -k --line-buffer job's output
  HeldOutput partial[2];  // --line-buffer: the unfinished last line
  bool at_line_start[2] = {true, true};
  std::uint64_t bytes[2] = {0, 0};
  bool exited = false;
  ExitStatus status;
  bool timed_out = false;
  double deadline = 0;        // monotonic; 0 = none
  double grace_deadline = 0;  // monotonic; 0 = none
  std::string spawn_error;
  bool pipes_open() const { return pipes[0].valid() || pipes[1].valid(); }
};

/// A process group being ended with a termination sequence.
struct Termination {
  int pgid;
  std::size_t step;
  double next;  // monotonic time of the next step
};

class Engine {
 public:
  Engine(const RunConfig& cfg, Launcher& launcher)
      : cfg_(cfg),
        launcher_(launcher),
        stream_(cfg),
        reports_(cfg),
        spill_(tmpdir_) {
    TemplateOptions topt;
    topt.replace = cfg.replace;
    topt.names = stream_.names();
    topt.context_replace = cfg.xargs;
    tmpl_ = CommandTemplate::parse(cfg.command, topt);
    if (cfg.tagstring) {
      TemplateOptions tag_opt = topt;
      tag_opt.context_replace = false;
      tagstring_ = CommandTemplate::parse({*cfg.tagstring}, tag_opt);
    }
    budget_.limit = cfg.output_memory;
    budget_.spill = &spill_;
    direct_ = tmpl_.direct_exec_possible();
    if (direct_ && !cfg.command.empty()) {
      exe_path_ = platform::resolve_executable(cfg.command.front());
      if (exe_path_.empty()) direct_ = false;  // let the shell report "not found" (exit 127)
    }
    shell_path_ = platform::resolve_executable(cfg.shell);
    if (shell_path_.empty()) throw UsageError("shell '" + cfg.shell + "' not found or not executable");
    slots_ = cfg.jobs;
    if (cfg.output != OutputMode::Ungroup && !cfg.dry_run) {
      // Each running job holds two pipe read ends (four fds while starting); keep a reserve.
      std::size_t fds = platform::raise_fd_limit();
      std::size_t fit = fds > 64 ? (fds - 64) / 4 : 1;
      if (slots_ > fit) {
        spdlog::warn("only {} file descriptors available: running {} jobs at once instead of {}",
                     fds, fit, slots_);
        slots_ = std::max<std::size_t>(1, fit);
      }
    }
    jobs_.resize(slots_);
    for (std::size_t s = 1; s <= slots_; ++s) free_slots_.push(s);
    if (stream_.reads_stdin()) {
      std::error_code ec;
      dev_null_ = platform::open_dev_null(ec);
      if (ec) throw SystemError("cannot open /dev/null: " + ec.message());
    }
    if (cfg.xargs) {
      std::size_t limit = platform::arg_max();
      std::size_t env = platform::environment_size();
      // Keep a margin as xargs does, so the shell's own additions still fit.
      line_limit_ = limit > env + 4096 ? limit - env - 4096 : 4096;
      line_limit_ = std::min<std::size_t>(line_limit_, 128 * 1024 * 1024);
    }
    keep_window_ = std::max<std::size_t>(1000, 16 * slots_);
  }

  int run();

 private:
  // Input and starting.
  bool take_input(JobInput& in);
  void start_jobs();
  void launch(std::unique_ptr<Job> job);
  // Events.
  void on_signals();
  void on_exits();
  void on_stream(std::size_t slot, int stream);
  void on_timers(double now);
  int next_timeout(double now) const;
  // Output.
  void deliver(Job& job, int stream, std::string_view data);
  bool live(const Job& job) const {
    return cfg_.output == OutputMode::LineBuffer && (!cfg_.keep_order || job.input.seq == next_print_);
  }
  void write_out(int fd, std::string_view data);
  void write_held(int fd, HeldOutput& h);
  std::string tag_prefix(const Job& job) const;
  // Completion.
  void maybe_finish(std::size_t slot);
  void finish(std::size_t slot);
  void emit(Job& job);
  void flush_ordered();
  void record(Job& job);
  void check_halt(const Job& job);
  // Termination.
  void terminate_group(int pgid, bool immediate_kill = false);
  void stop(Stop why);
  void close_stream(Job& job, int stream);
  int exit_status() const;

  const RunConfig& cfg_;
  Launcher& launcher_;
  RecordStream stream_;
  Reports reports_;
  platform::PrivateTempDir tmpdir_;
  platform::SpillFile spill_;
  OutputBudget budget_;
  CommandTemplate tmpl_;
  std::optional<CommandTemplate> tagstring_;
  bool direct_ = false;
  std::string exe_path_, shell_path_;
  std::size_t slots_ = 1;
  UniqueFd dev_null_;
  std::size_t line_limit_ = 0;
  std::string dry_buf_;  // --dry-run lines not yet written

  platform::EventLoop loop_;
  std::optional<platform::SignalEvents> signals_;
  bool input_watched_ = false;
  int input_fd_ = -1;
  bool input_done_ = false;
  std::vector<Record> partial_records_;
  std::optional<Record> carry_;  // a record that did not fit the previous -X line
  std::deque<std::unique_ptr<Job>> retry_queue_;

  std::vector<std::unique_ptr<Job>> jobs_;  // by slot - 1
  std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> free_slots_;
  std::unordered_map<int, std::size_t> pid_slot_;
  std::size_t running_ = 0;
  std::size_t next_seq_ = 1;
  std::size_t next_print_ = 1;
  std::size_t keep_window_ = 1000;
  std::map<std::size_t, std::unique_ptr<Job>> finished_;  // -k: done, waiting for their turn
  std::vector<Termination> terminations_;

  Stop stop_ = Stop::None;
  int signals_seen_ = 0;
  bool stdout_closed_ = false;
  int halt_status_ = -1;
  std::string input_error_;
  RunSummary summary_;
  std::vector<ExitStatus> exits_;
  std::vector<double> runtimes_;  // successful jobs' durations, for --timeout N%
};

// ---------------------------------------------------------------------------------------------

bool Engine::take_input(JobInput& in) {
  // Returns true with a complete job input, false when none can be formed now (pending or end).
  in.records.clear();
  if (cfg_.xargs) {
    std::size_t cost = tmpl_.base_cost();
    auto& recs = partial_records_;
    for (;;) {
      Record r;
      if (carry_) {
        r = std::move(*carry_);
        carry_.reset();
      } else {
        auto st = stream_.next(r);
        if (st == RecordStream::Status::Pending) return false;
        if (st == RecordStream::Status::End) {
          input_done_ = true;
          break;
        }
      }
      std::size_t c = tmpl_.record_cost(r);
      std::size_t current = cost;
      for (const auto& p : recs) current += tmpl_.record_cost(p);
      if (!recs.empty() && current + c > line_limit_) {
        carry_ = std::move(r);
        break;
      }
      recs.push_back(std::move(r));
      if (cfg_.max_args > 1 && recs.size() >= cfg_.max_args) break;
    }
    if (recs.empty()) return false;
    in.records = std::move(recs);
    recs.clear();
    return true;
  }
  while (partial_records_.size() < cfg_.max_args) {
    Record r;
    auto st = stream_.next(r);
    if (st == RecordStream::Status::Pending) return false;
    if (st == RecordStream::Status::End) {
      input_done_ = true;
      break;
    }
    partial_records_.push_back(std::move(r));
  }
  if (partial_records_.empty()) return false;
  in.records = std::move(partial_records_);
  partial_records_.clear();
  return true;
}

void Engine::start_jobs() {
  while (stop_ == Stop::None && (cfg_.dry_run || !free_slots_.empty())) {
    if (cfg_.keep_order && !cfg_.dry_run && next_seq_ >= next_print_ + keep_window_) break;
    std::unique_ptr<Job> job;
    if (!retry_queue_.empty()) {
      job = std::move(retry_queue_.front());
      retry_queue_.pop_front();
    } else {
      if (input_done_ && !carry_) break;
      JobInput in;
      bool got;
      try {
        got = take_input(in);
      } catch (const InputError& e) {
        input_error_ = e.what();
        stop(Stop::InputError);
        break;
      }
      if (!got) break;
      job = std::make_unique<Job>(budget_);
      job->input = std::move(in);
      job->input.seq = next_seq_++;
    }
    if (cfg_.dry_run) {
      job->input.slot = 1;
      dry_buf_ += tmpl_.render_shell(job->input);
      dry_buf_ += '\n';
      if (dry_buf_.size() >= kReadChunk) {
        write_out(1, dry_buf_);
        dry_buf_.clear();
      }
      if (stdout_closed_) break;
      continue;
    }
    job->input.slot = free_slots_.top();
    free_slots_.pop();
    launch(std::move(job));
  }
  if (!dry_buf_.empty()) {
    write_out(1, dry_buf_);
    dry_buf_.clear();
  }
  // Watch the input only while it is needed: a level-triggered fd left in the loop would spin.
  bool want = stop_ == Stop::None && !input_done_ && stream_.wait_fd() >= 0 &&
              (!free_slots_.empty() || cfg_.dry_run) && retry_queue_.empty();
  if (want && !input_watched_) {
    input_fd_ = stream_.wait_fd();
    if (loop_.add(input_fd_, kTokenInput)) {
      stream_.set_pollable(false);  // epoll cannot watch it (e.g. /dev/null): reads never wait
      return start_jobs();
    }
    input_watched_ = true;
  } else if (!want && input_watched_) {
    loop_.remove(input_fd_);
    input_watched_ = false;
  }
}

void Engine::launch(std::unique_ptr<Job> job) {
  const std::size_t slot = job->input.slot;
  Job& j = *job;
  jobs_[slot - 1] = std::move(job);
  j.command = tmpl_.render_shell(j.input);
  LaunchRequest req;
  if (direct_) {
    req.path = exe_path_;
    req.argv = tmpl_.render_argv(j.input);
  } else {
    req.path = shell_path_;
    req.argv = {cfg_.shell, "-c", j.command};
  }
  req.stdin_fd = dev_null_ ? dev_null_.get() : -1;
  platform::Pipe p[2];
  if (cfg_.output != OutputMode::Ungroup) {
    for (int s = 0; s < 2; ++s) {
      if (auto ec = platform::make_pipe(p[s], true)) {
        // Out of fds or memory: fail this job clearly rather than the run.
        j.spawn_error = "cannot create a pipe: " + ec.message();
        break;
      }
    }
    req.stdout_fd = p[0].write.get();
    req.stderr_fd = p[1].write.get();
  }
  j.start_mono = platform::monotonic_now();
  j.start_wall = platform::wall_now();
  ++running_;
  if (j.spawn_error.empty()) {
    LaunchResult res = launcher_.launch(req);
    for (int attempt = 0; !res.ok() && res.error == EAGAIN && attempt < 8; ++attempt) {
      // Out of processes for a moment: back off and retry before failing the job.
      platform::sleep_ms(1 << attempt);
      res = launcher_.launch(req);
    }
    if (!res.ok() && res.error == ENOEXEC && direct_) {
      // A script without "#!": run it through the shell, as execvp does.
      req.path = shell_path_;
      req.argv = {cfg_.shell, "-c", j.command};
      res = launcher_.launch(req);
    }
    if (res.ok()) {
      j.pid = res.pid;
      pid_slot_[res.pid] = slot;
    } else {
      j.spawn_error = res.stage + ": " + req.path + ": " + platform::errno_message(res.error);
      j.status.exit_code = (res.error == ENOENT) ? 127 : 126;
    }
  }
  if (!j.spawn_error.empty()) {
    spdlog::error("job {}: cannot run '{}': {}", j.input.seq, j.command, j.spawn_error);
    if (j.status.exit_code < 0) j.status.exit_code = 127;
    j.exited = true;
    j.end_mono = j.start_mono;
    j.end_wall = j.start_wall;
    return finish(slot);
  }
  for (int s = 0; s < 2; ++s) {
    if (!p[s].read) continue;
    j.pipes[s] = std::move(p[s].read);
    loop_.add(j.pipes[s].get(), kTokenJobBase + slot * 2 + s);
  }
  double timeout = cfg_.timeout_s;
  if (cfg_.timeout_percent > 0 && runtimes_.size() >= 3) {
    std::vector<double> r = runtimes_;
    std::nth_element(r.begin(), r.begin() + r.size() / 2, r.end());
    timeout = std::max(r[r.size() / 2] * cfg_.timeout_percent / 100.0, 0.001);
  }
  if (timeout > 0) j.deadline = j.start_mono + timeout;
}

// ---------------------------------------------------------------------------------------------

void Engine::write_out(int fd, std::string_view data) {
  if (data.empty() || (fd == 1 && stdout_closed_)) return;
  if (auto ec = platform::write_all(fd, data)) {
    if (fd == 1) {
      // The reader went away (e.g. `| head -1`): start nothing more, end what runs, exit quietly.
      stdout_closed_ = true;
      stop(Stop::Pipe);
    }
  }
}

void Engine::write_held(int fd, HeldOutput& h) {
  if (h.empty()) return;
  if (fd == 1 && stdout_closed_) return h.clear();
  if (auto ec = h.write_to(fd); ec && fd == 1) {
    stdout_closed_ = true;
    stop(Stop::Pipe);
  }
}

std::string Engine::tag_prefix(const Job& job) const {
  if (tagstring_) return tagstring_->render_raw(job.input) + "\t";
  std::string p;
  for (const auto& r : job.input.records)
    for (const auto& v : r) {
      if (!p.empty()) p += '\t';
      p += v;
    }
  return p + "\t";
}

void Engine::deliver(Job& job, int stream, std::string_view data) {
  job.bytes[stream] += data.size();
  const int fd = stream + 1;
  std::string tagged;
  if (cfg_.tag || tagstring_) {
    std::string prefix = tag_prefix(job);
    tagged.reserve(data.size() + prefix.size());
    for (char c : data) {
      if (job.at_line_start[stream]) tagged += prefix;
      tagged += c;
      job.at_line_start[stream] = (c == '\n');
    }
    data = tagged;
  }
  if (cfg_.output == OutputMode::LineBuffer && live(job)) {
    if (cfg_.keep_order) {
      // The only job writing: nothing can interleave, so bytes go straight through.
      write_held(fd, job.held[stream]);
      write_out(fd, data);
      return;
    }
    std::size_t nl = data.rfind('\n');
    if (nl == std::string_view::npos) {
      job.partial[stream].append(data);
      return;
    }
    if (!job.partial[stream].empty()) {
      // Finish the held start of the line and the rest of it in one go.
      job.partial[stream].append(data.substr(0, nl + 1));
      write_held(fd, job.partial[stream]);
    } else {
      write_out(fd, data.substr(0, nl + 1));
    }
    job.partial[stream].append(data.substr(nl + 1));
    return;
  }
  job.held[stream].append(data);
}

void Engine::on_stream(std::size_t slot, int stream) {
  Job* job = jobs_[slot - 1].get();
  if (!job || !job->pipes[stream]) return;
  static thread_local char buf[kReadChunk];
  // Bounded per event, so one chatty job cannot starve the others.
  for (int round = 0; round < 4; ++round) {
    long n = platform::read_some(job->pipes[stream].get(), buf, sizeof buf);
    if (n == -EAGAIN) return;
    if (n <= 0) {
      close_stream(*job, stream);
      return maybe_finish(slot);
    }
    deliver(*job, stream, std::string_view(buf, static_cast<std::size_t>(n)));
    if (static_cast<std::size_t>(n) < sizeof buf) return;
  }
}

void Engine::close_stream(Job& job, int stream) {
  if (!job.pipes[stream]) return;
  loop_.remove(job.pipes[stream].get());
  job.pipes[stream].reset();
}

void Engine::on_signals() {
  std::vector<int> sigs;
  signals_->drain(sigs);
  bool child = false;
  for (int s : sigs) {
    if (s == SIGCHLD) {
      child = true;
    } else if (s == SIGHUP) {
      if (stop_ == Stop::None) stop(Stop::Hangup);
    } else if (s == SIGINT || s == SIGTERM) {
      ++signals_seen_;
      if (signals_seen_ == 1) {
        spdlog::warn("received {}: ending {} running job(s)", s == SIGINT ? "SIGINT" : "SIGTERM", running_);
        stop(Stop::Signal);
      } else {
        // A second signal: no more patience.
        for (auto& j : jobs_)
          if (j && j->pid > 0 && !j->exited) terminate_group(j->pid, true);
        for (auto& t : terminations_) platform::kill_process_group(t.pgid, SIGKILL);
      }
    }
  }
  if (child) on_exits();
}

void Engine::on_exits() {
  exits_.clear();
  launcher_.collect(exits_);
  double now = platform::monotonic_now();
  double wall = platform::wall_now();
  for (const auto& e : exits_) {
    auto it = pid_slot_.find(e.pid);
    if (it == pid_slot_.end()) continue;  // not a job of ours (e.g. a reparented descendant)
    std::size_t slot = it->second;
    pid_slot_.erase(it);
    Job& job = *jobs_[slot - 1];
    job.exited = true;
    job.status = e;
    job.end_mono = now;
    job.end_wall = wall;
    if (job.pipes_open()) job.grace_deadline = now + cfg_.grace_s;
    maybe_finish(slot);
  }
}

void Engine::maybe_finish(std::size_t slot) {
  Job* job = jobs_[slot - 1].get();
  if (job && job->exited && !job->pipes_open()) finish(slot);
}

void Engine::terminate_group(int pgid, bool immediate_kill) {
  if (immediate_kill) {
    platform::kill_process_group(pgid, SIGKILL);
    return;
  }
  for (const auto& t : terminations_)
    if (t.pgid == pgid) return;  // already being ended
  if (cfg_.termseq.empty()) return;
  platform::kill_process_group(pgid, cfg_.termseq[0].signal);
  terminations_.push_back({pgid, 0, platform::monotonic_now() + cfg_.termseq[0].wait_ms / 1000.0});
}

void Engine::on_timers(double now) {
  for (std::size_t s = 1; s <= jobs_.size(); ++s) {
    Job* job = jobs_[s - 1].get();
    if (!job) continue;
    if (job->deadline > 0 && now >= job->deadline && !job->exited) {
      job->deadline = 0;
      job->timed_out = true;
      spdlog::info("job {} timed out: ending process group {}", job->input.seq, job->pid);
      terminate_group(job->pid);
    }
    if (job->grace_deadline > 0 && now >= job->grace_deadline) {
      // The job's process has exited but descendants still hold its output pipes. Take what is
      // there, finish the job, and end the leftover process group so nothing outlives the run.
      job->grace_deadline = 0;
      for (int st = 0; st < 2; ++st) {
        if (job->pipes[st]) on_stream(s, st);
        if (jobs_[s - 1].get() != job) break;  // finished while draining
      }
      if (jobs_[s - 1].get() != job) continue;
      spdlog::info("job {}: descendants still hold its output after exit; ending them", job->input.seq);
      terminate_group(job->pid);
      close_stream(*job, 0);
      close_stream(*job, 1);
      maybe_finish(s);
    }
  }
  for (std::size_t i = 0; i < terminations_.size();) {
    Termination& t = terminations_[i];
    if (now < t.next) {
      ++i;
      continue;
    }
    ++t.step;
    if (t.step >= cfg_.termseq.size() || !platform::process_group_alive(t.pgid)) {
      terminations_.erase(terminations_.begin() + static_cast<long>(i));
      continue;
    }
    platform::kill_process_group(t.pgid, cfg_.termseq[t.step].signal);
    t.next = now + cfg_.termseq[t.step].wait_ms / 1000.0;
    ++i;
  }
}

int Engine::next_timeout(double now) const {
  double next = 0;
  auto consider = [&](double t) {
    if (t > 0 && (next == 0 || t < next)) next = t;
  };
  for (const auto& j : jobs_) {
    if (!j) continue;
    if (!j->exited) consider(j->deadline);
    consider(j->grace_deadline);
  }
  for (const auto& t : terminations_) consider(t.next);
  if (next == 0) return -1;
  double ms = (next - now) * 1000.0;
  return ms <= 0 ? 0 : static_cast<int>(ms) + 1;
}

// ---------------------------------------------------------------------------------------------

void Engine::finish(std::size_t slot) {
  std::unique_ptr<Job> job = std::move(jobs_[slot - 1]);
  --running_;
  free_slots_.push(slot);
  bool failed = job->status.exit_code != 0 || job->status.signal != 0 || job->timed_out ||
                !job->spawn_error.empty();
  if (failed && job->attempt < cfg_.retries && stop_ == Stop::None) {
    // --retries: run it again; only the last attempt's output is printed.
    auto again = std::make_unique<Job>(budget_);
    again->input = std::move(job->input);
    again->attempt = job->attempt + 1;
    retry_queue_.push_back(std::move(again));
    return;
  }
  if (!failed) runtimes_.push_back(job->end_mono - job->start_mono);
  record(*job);
  check_halt(*job);
  if (cfg_.keep_order) {
    finished_.emplace(job->input.seq, std::move(job));
    flush_ordered();
  } else {
    emit(*job);
  }
}

void Engine::emit(Job& job) {
  for (int s = 0; s < 2; ++s) {
    write_held(s + 1, job.held[s]);
    write_held(s + 1, job.partial[s]);
  }
}

void Engine::flush_ordered() {
  for (;;) {
    auto it = finished_.find(next_print_);
    if (it == finished_.end()) break;
    emit(*it->second);
    finished_.erase(it);
    ++next_print_;
  }
  // The next job in order may be running: with --line-buffer it now writes live.
  if (cfg_.output == OutputMode::LineBuffer) {
    for (auto& j : jobs_) {
      if (j && j->input.seq == next_print_) {
        write_held(1, j->held[0]);
        write_held(2, j->held[1]);
      }
    }
  }
}

void Engine::record(Job& job) {
  JobRecord r;
  r.seq = job.input.seq;
  r.slot = job.input.slot;
  for (const auto& rec : job.input.records) r.items.insert(r.items.end(), rec.begin(), rec.end());
  r.command = job.command;
  r.pid = job.pid;
  r.start = job.start_wall;
  r.end = job.end_wall;
  r.duration_s = job.end_mono - job.start_mono;
  r.exit_code = job.status.exit_code;
  r.signal = job.status.signal;
  r.timed_out = job.timed_out;
  r.attempts = job.attempt;
  r.user_s = job.status.user_s;
  r.sys_s = job.status.sys_s;
  r.max_rss_kib = job.status.max_rss_kib;
  r.stdout_bytes = job.bytes[0];
  r.stderr_bytes = job.bytes[1];
  r.spawn_error = job.spawn_error;
  ++summary_.jobs;
  if (r.failed()) ++summary_.failed;
  else ++summary_.succeeded;
  summary_.user_s += r.user_s;
  summary_.sys_s += r.sys_s;
  reports_.job_done(r);
}

void Engine::check_halt(const Job& job) {
  const HaltPolicy& h = cfg_.halt;
  if (h.when == HaltPolicy::When::Never || stop_ != Stop::None) return;
  bool failed = job.status.exit_code != 0 || job.status.signal != 0 || job.timed_out ||
                !job.spawn_error.empty();
  double n = 0;
  switch (h.why) {
    case HaltPolicy::Why::Fail: n = static_cast<double>(summary_.failed); break;
    case HaltPolicy::Why::Success: n = static_cast<double>(summary_.succeeded); break;
    case HaltPolicy::Why::Done: n = static_cast<double>(summary_.jobs); break;
  }
  if (h.why == HaltPolicy::Why::Fail && !failed) return;
  if (h.why == HaltPolicy::Why::Success && failed) return;
  bool hit = h.percent ? (n * 100.0 >= h.count * static_cast<double>(summary_.jobs) && summary_.jobs >= 1)
                       : n >= h.count;
  if (!hit) return;
  if (h.why == HaltPolicy::Why::Fail) {
    // As GNU parallel: exit with the status of the job that made it halt (128+signal for a signal).
    halt_status_ = job.status.signal ? 128 + job.status.signal
                                     : (job.timed_out ? 128 + SIGTERM : job.status.exit_code);
    if (halt_status_ <= 0) halt_status_ = 1;
  } else if (h.why == HaltPolicy::Why::Success) {
    halt_status_ = 0;
  }
  spdlog::warn("--halt: stopping after job {} ({})", job.input.seq,
               h.when == HaltPolicy::When::Now ? "ending running jobs" : "waiting for running jobs");
  stop(Stop::Halt);
}

void Engine::stop(Stop why) {
  if (stop_ == Stop::None || why == Stop::Signal || why == Stop::Pipe) {
    if (stop_ == Stop::Signal) return;
    stop_ = why;
  }
  bool kill_running = why == Stop::Signal || why == Stop::Pipe || why == Stop::InputError ||
                      (why == Stop::Halt && cfg_.halt.when == HaltPolicy::When::Now);
  retry_queue_.clear();
  if (kill_running)
    for (auto& j : jobs_)
      if (j && j->pid > 0 && !j->exited) terminate_group(j->pid);
}

int Engine::exit_status() const {
  if (stop_ == Stop::Signal || stop_ == Stop::InputError) return 255;
  if (stop_ == Stop::Pipe) return 128 + SIGPIPE;
  if (halt_status_ >= 0) return halt_status_;
  if (summary_.failed > 100) return 101;
  return static_cast<int>(summary_.failed);
}

int Engine::run() {
  signals_.emplace();
  loop_.add(signals_->fd(), kTokenSignals);
  if (launcher_.event_fd() >= 0) loop_.add(launcher_.event_fd(), kTokenLauncher);
  summary_.start = platform::wall_now();
  double t0 = platform::monotonic_now();
  std::vector<platform::Ready> ready;
  for (;;) {
    start_jobs();
    bool input_exhausted = input_done_ && !carry_ && partial_records_.empty();
    if (running_ == 0 && retry_queue_.empty() && (stop_ != Stop::None || input_exhausted)) break;
    ready.clear();
    double now = platform::monotonic_now();
    loop_.wait(ready, next_timeout(now));
    for (const auto& r : ready) {
      if (r.token == kTokenSignals) {
        on_signals();
      } else if (r.token == kTokenLauncher) {
        on_exits();
      } else if (r.token == kTokenInput) {
        if (input_watched_) {
          loop_.remove(input_fd_);
          input_watched_ = false;
        }
        try {
          stream_.on_readable();
        } catch (const InputError& e) {
          input_error_ = e.what();
          stop(Stop::InputError);
        }
      } else if (r.token >= kTokenJobBase) {
        std::uint64_t k = r.token - kTokenJobBase;
        on_stream(static_cast<std::size_t>(k / 2), static_cast<int>(k % 2));
      }
    }
    on_timers(platform::monotonic_now());
  }
  // Anything still being terminated (leftover descendants): no orphans outlive the run.
  for (const auto& t : terminations_)
    if (platform::process_group_alive(t.pgid)) platform::kill_process_group(t.pgid, SIGKILL);
  // -k: print what finished, in order, even after a stop (gaps are skipped).
  while (!finished_.empty()) {
    auto it = finished_.begin();
    emit(*it->second);
    finished_.erase(it);
  }
  if (!input_error_.empty()) spdlog::error("{}", input_error_);
  summary_.end = platform::wall_now();
  summary_.wall_s = platform::monotonic_now() - t0;
  summary_.exit_status = exit_status();
  summary_.interrupted = stop_ != Stop::None && stop_ != Stop::Hangup;
  switch (stop_) {
    case Stop::None: break;
    case Stop::Hangup: summary_.stop_reason = "SIGHUP"; break;
    case Stop::Halt: summary_.stop_reason = "halt"; break;
    case Stop::Signal: summary_.stop_reason = "signal"; break;
    case Stop::Pipe: summary_.stop_reason = "stdout closed"; break;
    case Stop::InputError: summary_.stop_reason = "input error"; break;
  }
  reports_.finish(summary_);
  return summary_.exit_status;
}

}  // namespace

int run_main_job(const RunConfig& cfg, Launcher& launcher) {
  Engine engine(cfg, launcher);
  return engine.run();
}

}  // namespace poolrun::core
