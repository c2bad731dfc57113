#include "core/run/engine.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "core/errors.h"
#include "core/run/supervisor.h"
#include "core/run/termination.h"
#include "core/run/job_source.h"
#include "core/input/retry_failed_source.h"
#include "core/report/joblog.h"
#include "core/input/template_source.h"
#include "core/run/held_output.h"
#include "core/run/release_order.h"
#include "core/pipe/pipe_source.h"
#include "platform/feed_io.h"
#include "core/run/progress.h"
#include "core/input/quote.h"
#include "core/input/shell_or_direct.h"
#include "core/report/report.h"
#include "core/input/template.h"
#include "platform/event_loop.h"
#include "platform/spill.h"
#include "platform/system.h"

namespace poolrun::core {
namespace {

using platform::UniqueFd;

constexpr std::size_t kReadChunk = 64 * 1024;
/// A job's output pipes join the event loop only once it has run this long (seconds). Most short
/// jobs have ended by then: their output is read when they are reaped, which saves four epoll_ctl
/// calls and a wake-up per job. A job that fills a pipe (64 KiB) sooner waits at most this long,
/// plus the loop's 1 ms timer granularity, before poolrun starts reading it.
constexpr double kWatchDelay = 0.001;
constexpr std::uint64_t kTokenInput = Supervisor::kFirstPolicyToken;
constexpr std::uint64_t kTokenJobBase = Supervisor::kFirstPolicyToken + 1;  // + slot * 2 + stream
constexpr std::uint64_t kTokenFeedBase = 1ull << 48;  // job stdin feeds: kTokenFeedBase + slot

/// Why the run stopped starting new jobs.
using Stop = StopReason;

/// When no job of ours runs and none can start for want of processes (EAGAIN) or file
/// descriptors, the launch is retried after a growing delay (seconds) and the run gives up after
/// kLaunchGiveUp seconds of that. With jobs running, a launch instead waits for one of them to end
/// (GNU parallel: "No more processes: Decreasing number of running jobs").
constexpr double kLaunchRetryFirst = 0.01;
constexpr double kLaunchRetryMax = 0.5;
constexpr double kLaunchGiveUp = 5.0;

/// A running (or finished, waiting to be printed) job.
struct Job {
  explicit Job(OutputBudget& b) : held{HeldOutput(b), HeldOutput(b)}, partial{HeldOutput(b), HeldOutput(b)} {}
  JobSpec spec;
  std::size_t attempt = 0;  // attempts made (launch() counts them)
  int pid = -1;
  double start_mono = 0, start_wall = 0, end_mono = 0, end_wall = 0;
  UniqueFd pipes[2];      // stdout, stderr read ends
  UniqueFd results[2];    // --results: this job's stdout and stderr files
  std::string results_dir;  // --results: the directory they are in
  UniqueFd feed;          // --pipe: the write end of the job's stdin pipe, while feeding it
  // --pipe: a read end of the same pipe, held until the job finishes so that what the job left
  // in it can be counted (FIONREAD). Holding it also means a write never fails with EPIPE: a job
  // that has stopped reading just stops taking input, and finish() counts what it left.
  UniqueFd feed_reader;
  std::uint64_t feed_start = 0;   // the feed's `written` when this attempt started
  bool feed_waiting = false;  // --round-robin: fed all it had; waits for the next chunk
  std::uint64_t stdin_unread = 0;  // --pipe: input bytes lost when the job stopped reading
  HeldOutput held[2];     // grouped output, or a non-live -k --line-buffer job's output
  HeldOutput partial[2];  // --line-buffer: the unfinished last line
  bool at_line_start[2] = {true, true};
  std::uint64_t bytes[2] = {0, 0};
  bool exited = false;
  bool watched = false;   // pipes registered with the event loop (at start_mono + kWatchDelay)
  ExitStatus status;
  bool timed_out = false;
  double deadline = 0;        // monotonic; 0 = none
  double grace_deadline = 0;  // monotonic; 0 = none
  std::string spawn_error;
  bool deferred = false;  // its launch was put off (out of processes or fds): not an attempt
  JobRecord record;  // filled when the job ends
  bool pipes_open() const { return pipes[0].valid() || pipes[1].valid(); }
  /// The attempt failed (for retries and --halt), by the same rule as the reports' counts:
  /// job_failed() (core/report/report.h), --pipe input left unread included.
  bool failed() const {
    return job_failed(status.exit_code, status.signal, timed_out, !spawn_error.empty(), stdin_unread);
  }
};

class Engine final : Supervisor::Policy {
 public:
  Engine(const RunConfig& cfg, JobSource& source, Launcher& launcher,
         std::unordered_set<std::size_t> resume_skip, RunOutcome* outcome)
      : cfg_(cfg), source_(source), input_(source.input()), events_(source.events()), sup_(launcher, cfg.termseq), reports_(cfg), spill_(tmpdir_),
        resume_skip_(std::move(resume_skip)), outcome_(outcome) {
    budget_.limit = cfg.output_memory;
    budget_.spill = &spill_;
    shell_ = Shell::find(cfg.shell);
    slots_ = std::max<std::size_t>(1, cfg.jobs);
    if (cfg.output != OutputMode::Ungroup && !cfg.dry_run) {
      // Each running job holds two pipe read ends (four fds while starting); keep a reserve for
      // poolrun's own files.
      std::size_t fds = platform::raise_fd_limit();
      std::size_t reserve = fds < 128 ? 12 : 64;
      std::size_t fit = fds > reserve + 4 ? (fds - reserve) / 4 : 1;
      if (slots_ > fit) {
        spdlog::warn("only {} file descriptors available: running {} job(s) at once instead of {}",
                     fds, fit, slots_);
        slots_ = fit;
      }
    }
    jobs_.resize(slots_);
    for (std::size_t s = 1; s <= slots_; ++s) free_slots_.push(s);
    // Jobs get /dev/null as stdin when poolrun reads its items from stdin, and (as GNU parallel
    // without --tty) when stdin is a terminal: a job in its own process group that read the
    // terminal would be stopped by SIGTTIN and never finish.
    if (source_.reads_stdin() || platform::is_tty(0)) {
      std::error_code ec;
      dev_null_ = platform::open_dev_null(ec);
      if (ec) throw SystemError("cannot open /dev/null: " + ec.message());
    }
    keep_window_ = std::max<std::size_t>(1000, 16 * slots_);
  }

  int run();

 private:
  // Input and starting.
  void start_jobs();
  void launch(std::unique_ptr<Job> job);
  bool launch_deferred(std::size_t slot, bool out_of_fds, std::string why);
  bool may_launch(double now) const;
  void on_launcher_gone(const std::string& why) override;
  // Events (Supervisor::Policy).
  void step() override;
  bool finished() const override {
    return running_ == 0 && retry_queue_.empty() && (stop_ != Stop::None || source_done_);
  }
  void on_ready(const platform::Ready& r) override;
  void on_exit(const ExitStatus& e) override;
  void on_interrupt(int sig) override;
  void on_hangup() override;
  void on_timers(double now) override;
  double next_deadline(double now) const override;
  void on_stream(std::size_t slot, int stream);
  void on_feed(std::size_t slot);
  void close_feed(Job& job);
  /// At the end of a --pipe job: sets stdin_unread when input was lost (see the definition).
  void count_unread_input(Job& job);
  // Output.
  void deliver(Job& job, int stream, std::string_view data);
  bool live(const Job& job) const {
    return cfg_.output == OutputMode::LineBuffer && (!cfg_.keep_order || job.spec.input.seq == finished_.next_seq());
  }
  void write_out(int fd, std::string_view data);
  void spill_failed(std::error_code ec);
  std::string results_path(const Job& job, int stream) const;
  void stdout_failed(std::error_code ec);
  void write_held(int fd, HeldOutput& h);
  std::string tag_prefix(const Job& job) const;
  // Completion.
  void maybe_finish(std::size_t slot);
  void finish(std::size_t slot);
  void emit(Job& job);
  void flush_ordered();
  void record(Job& job, const char* status = nullptr);
  void skip(Job& job);
  void check_halt(const Job& job);
  // Termination.
  void stop(Stop why);
  void fail(Stop why, std::string message);
  void on_failure(Stop why, const std::string& message) override { fail(why, message); }
  void close_stream(Job& job, int stream);
  void watch_pipes(Job& job, std::size_t slot);
  void drain_exited(std::size_t slot);
  void update_percent_timeout(double runtime);
  void draw_progress(double now, bool final = false);
  void clear_progress();
  std::string open_results(Job& job);
  void close_results(Job& job);
  int exit_status() const;

  const RunConfig& cfg_;
  JobSource& source_;
  InputWatch* const input_;  // source_.input(), asked once
  JobEvents* const events_;  // source_.events(), asked once
  Supervisor sup_;
  Reports reports_;
  platform::PrivateTempDir tmpdir_;
  platform::SpillFile spill_;
  OutputBudget budget_;
  Shell shell_;  // for scripts without "#!"
  std::size_t slots_ = 1;
  UniqueFd dev_null_;
  std::string dry_buf_;  // --dry-run lines not yet written

  bool input_watched_ = false;
  bool input_unwatchable_ = false;  // epoll refused the input fd: the source reads without waiting
  int input_fd_ = -1;
  bool source_done_ = false;
  std::deque<std::unique_ptr<Job>> retry_queue_;

  std::vector<std::unique_ptr<Job>> jobs_;  // by slot - 1
  std::priority_queue<std::size_t, std::vector<std::size_t>, std::greater<>> free_slots_;
  std::unordered_map<int, std::size_t> pid_slot_;
  std::size_t running_ = 0;
  std::size_t next_seq_ = 1;
  std::size_t keep_window_ = 1000;
  ReleaseOrder<std::unique_ptr<Job>> finished_{true};  // -k: done, waiting for their turn
  std::unordered_set<std::size_t> resume_skip_;  // --resume: seqs the joblog already has
  RunOutcome* outcome_;  // the caller's, or nullptr
  std::vector<char> read_buf_;  // job output is read into this, kReadChunk bytes

  Stop stop_ = Stop::None;
  bool stdout_closed_ = false;
  bool stdout_at_line_start_ = true;  // the last byte poolrun wrote to stdout was a newline
  int halt_status_ = -1;
  std::string error_;  // the first failure (is_failure(stop_)): one line, naming the path and cause
  bool launch_blocked_ = false;     // a launch was put off: see may_launch()
  std::size_t blocked_running_ = 0; // running_ when it was
  double launch_retry_at_ = 0;      // with none running: monotonic time of the next try
  double launch_retry_delay_ = 0;
  double launch_stuck_since_ = 0;   // with none running: when launches began to fail
  bool launch_warned_ = false;
  RunSummary summary_;
  std::size_t counted_failures_ = 0;  // failures that count in the exit status
  bool progress_active_ = false, progress_drawn_ = false;
  double last_draw_ = 0, start_mono_ = 0;
  std::vector<double> runtimes_;  // successful jobs' durations, for --timeout N%
  double percent_timeout_ = 0;    // --timeout N% in seconds, once 3 jobs have succeeded
};

// ---------------------------------------------------------------------------------------------

void Engine::start_jobs() {
  bool pending = false;
  while (stop_ == Stop::None && (cfg_.dry_run || !free_slots_.empty())) {
    if (cfg_.keep_order && !cfg_.dry_run && next_seq_ >= finished_.next_seq() + keep_window_) break;
    if (launch_blocked_ && !may_launch(platform::monotonic_now())) break;
    std::unique_ptr<Job> job;
    if (!retry_queue_.empty()) {
      job = std::move(retry_queue_.front());
      retry_queue_.pop_front();
    } else {
      if (source_done_) break;
      job = std::make_unique<Job>(budget_);
      JobSource::Status st;
      try {
        st = source_.next(job->spec);
      } catch (const InputError& e) {
        fail(Stop::InputError, e.what());
        break;
      }
      if (st == JobSource::Status::End) {
        source_done_ = true;
        break;
      }
      if (st == JobSource::Status::Pending) {
        pending = true;
        break;
      }
      next_seq_ = std::max(next_seq_, job->spec.input.seq + 1);
      if (resume_skip_.count(job->spec.input.seq)) {
        // --resume: done in an earlier run. Nothing to print or log; -k order moves past it.
        if (cfg_.keep_order) {
          const std::size_t seq = job->spec.input.seq;  // read before the move: argument order is unspecified
          finished_.finish(seq, std::move(job));
          flush_ordered();
        }
        continue;
      }
    }
    if (!job->spec.skip_reason.empty()) {
      skip(*job);
      continue;
    }
    if (cfg_.dry_run) {
      job->spec.input.slot = 1;
      source_.prepare(job->spec);
      dry_buf_ += job->spec.command;
      dry_buf_ += '\n';
      if (dry_buf_.size() >= kReadChunk) {
        write_out(1, dry_buf_);
        dry_buf_.clear();
      }
      if (stdout_closed_) break;
      continue;
    }
    job->spec.input.slot = free_slots_.top();
    free_slots_.pop();
    launch(std::move(job));
  }
  if (!dry_buf_.empty()) {
    write_out(1, dry_buf_);
    dry_buf_.clear();
  }
  // Watch the input only while it is needed: a level-triggered fd left in the loop would spin.
  bool want = input_ && (pending || input_->wants_input()) && stop_ == Stop::None && !input_unwatchable_ &&
              input_->wait_fd() >= 0;
  if (want && !input_watched_) {
    input_fd_ = input_->wait_fd();
    if (sup_.loop().add(input_fd_, kTokenInput)) {
      // epoll cannot watch it (a regular file, /dev/null): reads never wait from now on. Asked
      // once: a retry would fail the same way, and retrying here without end would never get
      // back to the event loop (and its signals).
      input_->set_pollable(false);
      input_unwatchable_ = true;
      return start_jobs();
    }
    input_watched_ = true;
  } else if (!want && input_watched_) {
    sup_.loop().remove(input_fd_);
    input_watched_ = false;
  }
}

void Engine::skip(Job& job) {
  // A batch job whose needs failed: reported, never run.
  job.spec.input.slot = 0;
  job.status.exit_code = -1;
  job.start_wall = job.end_wall = platform::wall_now();
  job.start_mono = job.end_mono = platform::monotonic_now();
  if (events_) events_->job_done(job.spec, false);
  record(job, "skipped");
  emit(job);
}

void Engine::launch(std::unique_ptr<Job> job) {
  const std::size_t slot = job->spec.input.slot;
  if (!cfg_.results_dir.empty() && !job->deferred) {
    // Before anything is started: a job whose output could not be kept is not run at all.
    if (std::string err = open_results(*job); !err.empty()) {
      free_slots_.push(slot);
      if (job->attempt > 0) {  // its earlier attempt failed, and is reported as such
        if (events_) events_->job_done(job->spec, false);
        record(*job);
      }
      return fail(Stop::ReportError, std::move(err));
    }
  }
  Job& j = *job;
  jobs_[slot - 1] = std::move(job);
  const bool resumed = j.deferred;  // its earlier launch was put off: prepared, not an attempt
  j.deferred = false;
  if (!resumed) ++j.attempt;  // attempts made, this one included
  j.status = ExitStatus{};
  j.stdin_unread = 0;
  j.timed_out = false;
  j.spawn_error.clear();
  j.exited = false;
  if (j.attempt == 1 && !resumed) source_.prepare(j.spec);
  bool out_of_fds = false;  // EMFILE/ENFILE making a pipe: wait for fds like for processes
  LaunchRequest req;
  req.path = j.spec.path;
  req.argv = j.spec.argv;
  if (j.spec.env) req.env = &*j.spec.env;
  req.cwd = j.spec.cwd;
  req.stdin_fd = dev_null_ ? dev_null_.get() : -1;
  platform::Pipe in;
  if (j.spec.stdin_feed && j.spawn_error.empty()) {
    if (auto ec = platform::make_pipe(in, false)) {
      j.spawn_error = "cannot create a pipe: " + ec.message();
      out_of_fds = platform::is_out_of_fds(ec);
    } else {
      req.stdin_fd = in.read.get();
    }
  }
  platform::Pipe p[2];
  if (cfg_.output != OutputMode::Ungroup) {
    for (int s = 0; s < 2; ++s) {
      if (auto ec = platform::make_pipe(p[s])) {
        // Out of fds: wait for a running job to give some back (or end the run if none runs).
        // Out of memory: fail this job clearly rather than the run.
        j.spawn_error = "cannot create a pipe: " + ec.message();
        out_of_fds = platform::is_out_of_fds(ec);
        break;
      }
    }
    req.stdout_fd = p[0].write.get();
    req.stderr_fd = p[1].write.get();
  }
  j.start_mono = platform::monotonic_now();
  j.start_wall = platform::wall_now();
  ++running_;
  if (out_of_fds && launch_deferred(slot, true, j.spawn_error)) return;
  if (j.spawn_error.empty()) {
    LaunchResult res = sup_.launch(req);
    if (!res.ok() && res.error == std::errc::executable_format_error && !shell_.path.empty() &&
        req.path != shell_.path) {
      // A script without "#!": run it through the shell, as execvp does.
      run_in_shell(shell_, j.spec.command, req.path, req.argv);
      res = sup_.launch(req);
    }
    if (res.ok()) {
      j.pid = res.child.pid;
      pid_slot_[res.child.pid] = slot;
      launch_blocked_ = false;
      launch_stuck_since_ = 0;
      launch_retry_delay_ = 0;
    } else {
      const std::string why = std::string(platform::stage_name(res.stage)) + ": " + res.error.message();
      // Out of processes (the fork step's EAGAIN) or fds: not the job's fault. Start it again
      // when a running job has ended, as GNU parallel does.
      if ((res.is_try_again() && res.stage == LaunchStage::Fork) ||
          (res.stage == LaunchStage::Pipe && platform::is_out_of_fds(res.error))) {
        if (launch_deferred(slot, res.stage == LaunchStage::Pipe, why)) return;
      }
      if (res.stage == LaunchStage::Forkserver && !sup_.launcher_usable()) {
        // The forkserver is gone: no job can start any more. Once, for the run, not per job.
        launch_deferred(slot, false, why);
        return on_launcher_gone(why);
      }
      // A working directory that cannot be entered is named itself, not the program.
      const std::string& what = res.stage == LaunchStage::Chdir && !req.cwd.empty() ? req.cwd : req.path;
      j.spawn_error = std::string(platform::stage_name(res.stage)) + ": " + what + ": " +
                      platform::errno_message(res.error.value());
      if (res.error == std::errc::argument_list_too_long)
        j.spawn_error += cfg_.xargs ? " (the command line exceeds the kernel's limit, even with one item: the item is too long)"
                                    : " (the command line exceeds the kernel's limit; -X splits lines under it)";
      j.status.exit_code = res.error == std::errc::no_such_file_or_directory ? 127 : 126;
    }
  }
  if (!j.spawn_error.empty()) {
    std::string shown = j.spec.command.size() > 200 ? j.spec.command.substr(0, 200) + "..." : j.spec.command;
    if (j.spec.name.empty())
      spdlog::error("job {}: cannot run '{}': {}", j.spec.input.seq, shown, j.spawn_error);
    else
      spdlog::error("job {}: cannot run '{}': {}", j.spec.name, shown, j.spawn_error);
    if (j.status.exit_code < 0) j.status.exit_code = 127;
    j.exited = true;
    j.end_mono = j.start_mono;
    j.end_wall = j.start_wall;
    return finish(slot);
  }
  for (int s = 0; s < 2; ++s)
    if (p[s].read) j.pipes[s] = std::move(p[s].read);
  // The pipes join the event loop after kWatchDelay, if the job still runs then.
  j.watched = !j.pipes_open();
  if (in.write) {
    // --pipe: the engine writes the chunk as the pipe takes it, between output reads.
    j.feed_reader = std::move(in.read);
    j.feed_start = j.spec.stdin_feed->written;
    platform::set_nonblocking(in.write.get(), true);
    platform::grow_pipe(in.write.get(), 1u << 20);
    j.feed = std::move(in.write);
    j.feed_waiting = false;
    j.spec.stdin_feed->restart();
    sup_.loop().add(j.feed.get(), kTokenFeedBase + slot, false, true);
  }
  double timeout = j.spec.timeout_s.value_or(cfg_.timeout_s);
  if (!j.spec.timeout_s && percent_timeout_ > 0) timeout = percent_timeout_;
  if (timeout > 0) j.deadline = j.start_mono + timeout;
}

// ---------------------------------------------------------------------------------------------

void Engine::draw_progress(double now, bool final) {
  if (!progress_active_) return;
  if (!final && now - last_draw_ < 0.1) return;  // bounded redraw rate: costs nothing measurable
  last_draw_ = now;
  ProgressState st;
  st.running = running_;
  st.done = summary_.jobs;
  st.failed = summary_.failed;
  st.total = source_done_ ? std::optional<std::size_t>(next_seq_ - 1) : source_.total();
  st.elapsed_s = now - start_mono_;
  std::string line = "\r\033[K" + format_progress(st, cfg_.eta, cfg_.bar, platform::terminal_width(2));
  if (final) line += "\n";
  platform::write_all(2, line);
  progress_drawn_ = !final;
}

void Engine::clear_progress() {
  if (!progress_drawn_) return;
  platform::write_all(2, "\r\033[K");
  progress_drawn_ = false;
}

void Engine::write_out(int fd, std::string_view data) {
  if (data.empty() || (fd == 1 && stdout_closed_)) return;
  clear_progress();
  if (fd == 1) stdout_at_line_start_ = data.back() == '\n';
  if (auto ec = sup_.write(fd, data))
    if (fd == 1) stdout_failed(ec);
}

void Engine::stdout_failed(std::error_code ec) {
  stdout_closed_ = true;
  // The reader went away (e.g. `| head -1`): start nothing more, end what runs, exit quietly.
  if (ec.value() == EPIPE) return stop(Stop::Pipe);
  // Anything else (a full disk: ENOSPC, EIO) loses output: said once, exit 255.
  fail(Stop::OutputError, "standard output: " + platform::errno_message(ec.value()));
}

void Engine::write_held(int fd, HeldOutput& h) {
  if (h.empty()) return;
  clear_progress();
  if (fd == 1) stdout_at_line_start_ = h.last_byte() == '\n';
  if (fd == 1 && stdout_closed_) return h.clear();
  if (auto ec = h.write_to([&](std::string_view d) { return sup_.write(fd, d); }); ec && fd == 1)
    stdout_failed(ec);
}

std::string Engine::tag_prefix(const Job& job) const { return source_.tag(job.spec) + "\t"; }

void Engine::deliver(Job& job, int stream, std::string_view data) {
  job.bytes[stream] += data.size();
  if (job.results[stream]) {
    if (auto ec = platform::write_all(job.results[stream].get(), data)) {
      // A --results file that lost bytes: the run stops (the file is left as far as it got).
      job.results[stream].reset();
      std::string msg = "--results: cannot write " + results_path(job, stream) + ": " + ec.message();
      if (!error_.empty()) spdlog::warn("{}", msg);  // after the first failure: each lost file named
      fail(Stop::ReportError, std::move(msg));
    }
  }
  const int fd = stream + 1;
  std::string tagged;
  if (cfg_.tag || cfg_.tagstring) {
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
      if (auto ec = job.partial[stream].append(data)) spill_failed(ec);
      return;
    }
    if (!job.partial[stream].empty()) {
      // Finish the held start of the line and the rest of it in one go.
      if (auto ec = job.partial[stream].append(data.substr(0, nl + 1))) spill_failed(ec);
      write_held(fd, job.partial[stream]);
    } else {
      write_out(fd, data.substr(0, nl + 1));
    }
    if (auto ec = job.partial[stream].append(data.substr(nl + 1))) spill_failed(ec);
    return;
  }
  if (auto ec = job.held[stream].append(data)) spill_failed(ec);
}

void Engine::on_stream(std::size_t slot, int stream) {
  Job* job = jobs_[slot - 1].get();
  if (!job || !job->pipes[stream]) return;
  if (read_buf_.empty()) read_buf_.resize(kReadChunk);  // on first use: not in every start-up
  char* buf = read_buf_.data();
  // The pipes are blocking: one read per readiness event never waits, and saves the two fcntl()
  // calls per pipe and the final read that says EAGAIN. A chatty job is simply reported ready
  // again by the level-triggered loop, so it cannot starve the others.
  long n = platform::read_some(job->pipes[stream].get(), buf, kReadChunk);
  if (n <= 0) {
    close_stream(*job, stream);
    return maybe_finish(slot);
  }
  deliver(*job, stream, std::string_view(buf, static_cast<std::size_t>(n)));
}

void Engine::on_feed(std::size_t slot) {
  Job* job = jobs_[slot - 1].get();
  if (!job || !job->feed) return;
  int err = 0;
  FeedState st;
  try {
    st = pump(*job->spec.stdin_feed, job->feed.get(), err);
  } catch (const InputError& e) {  // --round-robin reading the next chunk
    close_feed(*job);
    return fail(Stop::InputError, e.what());
  }
  switch (st) {
    case FeedState::Blocked: break;
    case FeedState::Waiting:
      if (!job->feed_waiting) sup_.loop().modify(job->feed.get(), kTokenFeedBase + slot, false, false);
      job->feed_waiting = true;
      return;
    case FeedState::Broken:
      // Not EPIPE (the engine holds a read end until the job finishes): a write error of its own.
      spdlog::warn("job {}: writing its stdin: {}", job->spec.input.seq, platform::errno_message(err));
      close_feed(*job);
      return;
    case FeedState::Done: close_feed(*job); return;
  }
  if (job->feed_waiting) {
    sup_.loop().modify(job->feed.get(), kTokenFeedBase + slot, false, true);
    job->feed_waiting = false;
  }
}

void Engine::count_unread_input(Job& job) {
  if (!job.feed_reader) return;
  if (!job.spec.stdin_feed) {
    job.feed_reader.reset();  // held only to count what is left; the job's end lets it go
    return;
  }
  const StdinFeed& f = *job.spec.stdin_feed;
  // Still feeding: the rest of the chunk never reached the pipe (a --round-robin job loses its
  // chunk in progress). In the pipe: what the job left there.
  std::uint64_t unwritten = 0;
  if (job.feed) unwritten = f.unwritten();
  long left = platform::pipe_unread(job.feed_reader.get());
  std::uint64_t in_pipe = left > 0 ? static_cast<std::uint64_t>(left) : 0;
  std::uint64_t taken = f.written - job.feed_start;
  job.feed_reader.reset();
  // Input is lost when the job ended before its pipe took it all (`head -1` of a large block:
  // GNU parallel's write fails with SIGPIPE and the job counts as failed), or when the job took
  // none of it (`true`). A job that read some of what reached its pipe and then quit (`head -1`
  // of a small block) chose to: that is not a failure, as in GNU parallel.
  bool took_none = in_pipe == taken && (taken > 0 || unwritten > 0);
  if (unwritten == 0 && !took_none) return;
  job.stdin_unread = unwritten + in_pipe;
  if (stop_ != Stop::None || job.status.exit_code != 0 || job.status.signal != 0 || job.timed_out) return;
  if (took_none)
    spdlog::warn("job {}: ended without reading its input ({} bytes); it counts as failed",
                 job.spec.input.seq, job.stdin_unread);
  else
    spdlog::warn("job {}: stopped reading its input with {} bytes unread; they are lost",
                 job.spec.input.seq, job.stdin_unread);
}

void Engine::close_feed(Job& job) {
  if (!job.feed) return;
  sup_.loop().remove(job.feed.get());
  job.feed.reset();
  job.feed_waiting = false;
}

void Engine::close_stream(Job& job, int stream) {
  if (!job.pipes[stream]) return;
  if (job.watched) sup_.loop().remove(job.pipes[stream].get());
  job.pipes[stream].reset();
}

void Engine::watch_pipes(Job& job, std::size_t slot) {
  if (job.watched) return;
  job.watched = true;
  for (int s = 0; s < 2; ++s)
    if (job.pipes[s]) sup_.loop().add(job.pipes[s].get(), kTokenJobBase + slot * 2 + s);
}

void Engine::drain_exited(std::size_t slot) {
  // The job ended before its pipes joined the loop: what it wrote waits in them, and its exit
  // closed its ends, so they read to EOF now — unless a descendant still holds one. Only what is
  // there now is read (blocking pipes: poll first); a pipe still open afterwards joins the loop.
  Job* job = jobs_[slot - 1].get();
  for (int round = 0; round < 64; ++round) {
    const int fds[2] = {job->pipes[0].get(), job->pipes[1].get()};
    platform::ReadState st[2];
    platform::read_states_now(fds, st, 2);
    if (st[0] == platform::ReadState::Waiting && st[1] == platform::ReadState::Waiting) break;
    for (int s = 0; s < 2; ++s) {
      if (st[s] == platform::ReadState::Readable) {
        on_stream(slot, s);
      } else if (st[s] == platform::ReadState::Eof) {
        close_stream(*job, s);  // no read() needed to learn it
        maybe_finish(slot);
      }
      if (jobs_[slot - 1].get() != job) return;  // finished: both pipes reached EOF
    }
  }
  watch_pipes(*job, slot);
}

bool Engine::launch_deferred(std::size_t slot, bool out_of_fds, std::string why) {
  // Undo the launch: the job goes back to the front of the queue, its slot is free again.
  std::unique_ptr<Job> job = std::move(jobs_[slot - 1]);
  job->deferred = true;
  job->spawn_error.clear();
  --running_;
  free_slots_.push(slot);
  retry_queue_.push_front(std::move(job));
  const double now = platform::monotonic_now();
  launch_blocked_ = true;
  blocked_running_ = running_;
  if (running_ > 0) {
    // Wait for one of ours to end: may_launch() says when.
    if (!launch_warned_) {
      spdlog::warn("cannot start more jobs ({}): running {} job(s) at once until some end", why, running_);
      launch_warned_ = true;
    }
    launch_stuck_since_ = 0;
    launch_retry_delay_ = 0;
    return true;
  }
  // Nothing of ours runs: the limit is taken by other processes, or fds are too few for even one
  // job. Retry after a growing delay, for a bounded time.
  if (out_of_fds) {
    fail(Stop::LaunchError, why + " (too few file descriptors to run even one job: raise ulimit -n)");
    return true;
  }
  if (launch_stuck_since_ == 0) launch_stuck_since_ = now;
  if (now - launch_stuck_since_ >= kLaunchGiveUp) {
    fail(Stop::LaunchError, why + " (no job could start for " + std::to_string(static_cast<int>(kLaunchGiveUp)) +
                                " seconds: the process limit, ulimit -u, leaves no room)");
    return true;
  }
  launch_retry_delay_ = std::min(kLaunchRetryMax, launch_retry_delay_ > 0 ? launch_retry_delay_ * 2 : kLaunchRetryFirst);
  launch_retry_at_ = now + launch_retry_delay_;
  return true;
}

bool Engine::may_launch(double now) const {
  if (running_ < blocked_running_) return true;         // one of ours has ended
  return running_ == 0 && now >= launch_retry_at_;      // none of ours to wait for: the delay
}

void Engine::on_launcher_gone(const std::string& why) {
  if (stop_ == Stop::LaunchError) return;
  fail(Stop::LaunchError, std::string("the ") + sup_.start_method() + " start method can start no more jobs (" +
                              why + "): ending the run");
}

void Engine::on_hangup() {
  if (outcome_ && !outcome_->stop_signal) outcome_->stop_signal = SIGHUP;
  if (stop_ != Stop::None) return;
  spdlog::warn("received SIGHUP: no new jobs will be started; waiting for {} running job(s)", running_);
  stop(Stop::Hangup);
}

void Engine::on_interrupt(int sig) {
  if (outcome_ && !outcome_->stop_signal) outcome_->stop_signal = sig;
  spdlog::warn("received {}: ending {} running job(s)", sig == SIGINT ? "SIGINT" : "SIGTERM", running_);
  stop(Stop::Signal);
}

void Engine::on_exit(const ExitStatus& e) {
  auto it = pid_slot_.find(e.pid);
  if (it == pid_slot_.end()) return;
  std::size_t slot = it->second;
  pid_slot_.erase(it);
  Job& job = *jobs_[slot - 1];
  double now = platform::monotonic_now();
  job.exited = true;
  job.status = e;
  job.end_mono = now;
  job.end_wall = platform::wall_now();
  if (!job.watched) {
    drain_exited(slot);
    if (jobs_[slot - 1].get() != &job) return;  // finished
  }
  if (job.pipes_open()) {
    // Descendants hold its output: followed, so that ending them at the grace deadline never
    // signals an id that has gone to someone else meanwhile.
    sup_.follow(e.pid);
    job.grace_deadline = now + cfg_.grace_s;
  }
  maybe_finish(slot);
}

void Engine::maybe_finish(std::size_t slot) {
  Job* job = jobs_[slot - 1].get();
  if (job && job->exited && !job->pipes_open()) finish(slot);
}


void Engine::on_timers(double now) {
  for (std::size_t s = 1; s <= jobs_.size(); ++s) {
    Job* job = jobs_[s - 1].get();
    if (!job) continue;
    if (!job->watched && !job->exited && now >= job->start_mono + kWatchDelay) watch_pipes(*job, s);
    if (job->deadline > 0 && now >= job->deadline && !job->exited) {
      job->deadline = 0;
      job->timed_out = true;
      spdlog::info("job {} timed out: ending process group {}", job->spec.input.seq, job->pid);
      sup_.terminate(job->pid);
    }
    if (job->grace_deadline > 0 && now >= job->grace_deadline) {
      // The job's process has exited but descendants still hold its output pipes. Take what is
      // there, finish the job, and end the leftover process group so nothing outlives the run.
      job->grace_deadline = 0;
      for (int st = 0; st < 2; ++st) {
        // Blocking pipes: read only what is there now, as the event loop would have.
        for (int round = 0; round < 4 && jobs_[s - 1].get() == job && job->pipes[st] &&
                            platform::readable_now(job->pipes[st].get());
             ++round)
          on_stream(s, st);
        if (jobs_[s - 1].get() != job) break;  // finished while draining
      }
      if (jobs_[s - 1].get() != job) continue;
      spdlog::info("job {}: descendants still hold its output after exit; ending them", job->spec.input.seq);
      sup_.terminate(job->pid);
      close_stream(*job, 0);
      close_stream(*job, 1);
      maybe_finish(s);
    }
  }
  draw_progress(now);
}

double Engine::next_deadline(double) const {
  double next = 0;
  auto consider = [&](double t) { next = earliest(next, t); };
  for (const auto& j : jobs_) {
    if (!j) continue;
    if (!j->exited) consider(j->deadline);
    if (!j->exited && !j->watched) consider(j->start_mono + kWatchDelay);
    consider(j->grace_deadline);
  }
  if (launch_blocked_ && running_ == 0 && stop_ == Stop::None) consider(launch_retry_at_);
  if (progress_active_) consider(last_draw_ + 0.25);
  return next;
}

// ---------------------------------------------------------------------------------------------

void Engine::finish(std::size_t slot) {
  std::unique_ptr<Job> job = std::move(jobs_[slot - 1]);
  sup_.release(job->pid);
  count_unread_input(*job);
  close_feed(*job);
  --running_;
  free_slots_.push(slot);
  bool failed = job->failed();
  if (failed && job->attempt < job->spec.retries.value_or(cfg_.retries) && stop_ == Stop::None) {
    // --retries: run it again; only the last attempt's output is printed. The attempt's result
    // stays with it, so a run that stops before the retry still reports the job as failed.
    auto again = std::make_unique<Job>(budget_);
    again->spec = std::move(job->spec);
    again->attempt = job->attempt;
    again->pid = job->pid;
    again->status = job->status;
    again->timed_out = job->timed_out;
    again->spawn_error = job->spawn_error;
    again->stdin_unread = job->stdin_unread;
    again->start_mono = job->start_mono;
    again->start_wall = job->start_wall;
    again->end_mono = job->end_mono;
    again->end_wall = job->end_wall;
    retry_queue_.push_back(std::move(again));
    return;
  }
  if (events_) events_->job_done(job->spec, !failed);
  close_results(*job);
  if (!failed && cfg_.timeout_percent > 0) update_percent_timeout(job->end_mono - job->start_mono);
  record(*job);
  check_halt(*job);
  if (cfg_.keep_order) {
    const std::size_t seq = job->spec.input.seq;  // read before the move: argument order is unspecified
    finished_.finish(seq, std::move(job));
    flush_ordered();
  } else {
    emit(*job);
  }
}

void Engine::update_percent_timeout(double runtime) {
  // As GNU parallel: N% of the median runtime of the jobs that succeeded, applied to the jobs
  // already running too, once the median means something (3 successes).
  runtimes_.push_back(runtime);
  if (runtimes_.size() < 3) return;
  std::vector<double> r = runtimes_;
  std::nth_element(r.begin(), r.begin() + static_cast<long>(r.size() / 2), r.end());
  percent_timeout_ = std::max(r[r.size() / 2] * cfg_.timeout_percent / 100.0, 0.001);
  for (auto& j : jobs_)
    if (j && !j->exited && !j->spec.timeout_s) j->deadline = j->start_mono + percent_timeout_;
}

void Engine::emit(Job& job) {
  std::string banner = events_ ? events_->banner(job.record) : std::string();
  if (!banner.empty()) {
    // A banner starts its own line even after output without a final newline.
    if (!stdout_at_line_start_) banner.insert(banner.begin(), '\n');
    write_out(1, banner);
  }
  for (int s = 0; s < 2; ++s) {
    write_held(s + 1, job.held[s]);
    write_held(s + 1, job.partial[s]);
  }
}

void Engine::flush_ordered() {
  while (auto r = finished_.release()) emit(*r->second);
  // The next job in order may be running: with --line-buffer it now writes live.
  if (cfg_.output == OutputMode::LineBuffer) {
    for (auto& j : jobs_) {
      if (j && j->spec.input.seq == finished_.next_seq()) {
        write_held(1, j->held[0]);
        write_held(2, j->held[1]);
      }
    }
  }
}

void Engine::record(Job& job, const char* status) {
  JobRecord r;
  r.seq = job.spec.input.seq;
  r.slot = job.spec.input.slot;
  r.name = job.spec.name;
  for (const auto& rec : job.spec.input.records) r.items.insert(r.items.end(), rec.begin(), rec.end());
  r.command = job.spec.command;
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
  if (const auto& f = job.spec.stdin_feed) {
    r.stdin_bytes = f->written;
    if (f->records_known) r.stdin_records = f->records;
    if (job.stdin_unread > 0) r.stdin_unread = job.stdin_unread;
  }
  if (status) r.status = status;
  ++summary_.jobs;
  if (status && std::string_view(status) == "skipped") {
    ++summary_.skipped;
    r.reason = job.spec.skip_reason;
  } else if (r.failed()) {
    ++summary_.failed;
    if (!job.spec.allow_failure) ++counted_failures_;
    if (outcome_ && !outcome_->first_failure) outcome_->first_failure = r;
  } else {
    ++summary_.succeeded;
  }
  summary_.user_s += r.user_s;
  summary_.sys_s += r.sys_s;
  if (events_) events_->job_recorded(r);
  if (std::string err = reports_.job_done(r); !err.empty()) fail(Stop::ReportError, std::move(err));
  job.record = std::move(r);
}

void Engine::check_halt(const Job& job) {
  const HaltPolicy& h = cfg_.halt;
  if (h.when == HaltPolicy::When::Never || stop_ != Stop::None) return;
  bool failed = job.failed();
  double n = 0;
  switch (h.why) {
    case HaltPolicy::Why::Fail: n = static_cast<double>(summary_.failed); break;
    case HaltPolicy::Why::Success: n = static_cast<double>(summary_.succeeded); break;
    case HaltPolicy::Why::Done: n = static_cast<double>(summary_.jobs); break;
  }
  if (h.why == HaltPolicy::Why::Fail && !failed) return;
  if (h.why == HaltPolicy::Why::Success && failed) return;
  // N% is of all jobs, as GNU parallel, when the total is known; of the jobs done so far otherwise.
  std::optional<std::size_t> total = source_done_ ? std::optional<std::size_t>(next_seq_ - 1) : source_.total();
  double base = static_cast<double>(total ? *total : summary_.jobs);
  bool hit = h.percent ? (n * 100.0 >= h.count * base && summary_.jobs >= 1) : n >= h.count;
  if (!hit) return;
  if (h.why == HaltPolicy::Why::Fail) {
    // As GNU parallel: exit with the status of the job that made it halt (128+signal for a signal).
    halt_status_ = job.status.signal ? 128 + job.status.signal
                                     : (job.timed_out ? 128 + SIGTERM : job.status.exit_code);
    if (halt_status_ <= 0) halt_status_ = 1;
  } else if (h.why == HaltPolicy::Why::Success) {
    halt_status_ = 0;
  }
  spdlog::warn("--halt: stopping after job {} ({})", job.spec.input.seq,
               h.when == HaltPolicy::When::Now ? "ending running jobs" : "waiting for running jobs");
  stop(Stop::Halt);
}

void Engine::stop(Stop why) {
  // A signal overrides everything; a failure of poolrun's own overrides a quiet stop (a halt, a
  // closed stdout), since its exit status must show it; the first failure stays the reason.
  if (stop_ == Stop::None || why == Stop::Signal || why == Stop::Pipe ||
      (is_failure(why) && !is_failure(stop_))) {
    if (stop_ == Stop::Signal || (why == Stop::Pipe && is_failure(stop_))) return;
    stop_ = why;
  }
  bool kill_running = why == Stop::Signal || why == Stop::Pipe || is_failure(why) ||
                      (why == Stop::Halt && cfg_.halt.when == HaltPolicy::When::Now);
  // Jobs waiting for another attempt will not get it: report them with their last result.
  while (!retry_queue_.empty()) {
    std::unique_ptr<Job> job = std::move(retry_queue_.front());
    retry_queue_.pop_front();
    if (events_) events_->job_done(job->spec, false);
    record(*job);
  }
  if (kill_running)
    for (auto& j : jobs_)
      if (j && j->pid > 0 && !j->exited) sup_.terminate(j->pid);
}

void Engine::fail(Stop why, std::string message) {
  if (error_.empty()) error_ = std::move(message);
  stop(why);
}

void Engine::spill_failed(std::error_code ec) {
  fail(Stop::SpillError, "held output: cannot write it to a temporary file in " + spill_.where() + ": " +
                             ec.message() + " (set TMPDIR to a writable directory with room)");
}

int Engine::exit_status() const { return run_exit_status(stop_, halt_status_, counted_failures_); }

std::string Engine::open_results(Job& job) {
  // GNU parallel's layout: DIR/1/<value 1>/2/<value 2>/{stdout,stderr,seq}, "/" in a value
  // written as "\_" and "\" as "\\". A named (batch) job uses DIR/<name>/.
  std::string dir = cfg_.results_dir;
  // A value longer than a file name may be (255 bytes) becomes nested directories of 255 bytes
  // at most, as GNU parallel does, rather than an error and lost output.
  auto escape = [](const std::string& v) {
    std::string out;
    std::size_t part = 0;  // bytes in the current path component
    auto put = [&](std::string_view piece) {
      if (part + piece.size() > 255) {
        out += '/';
        part = 0;
      }
      out += piece;
      part += piece.size();
    };
    for (char c : v) {
      if (c == '/') put("\\_");
      else if (c == '\\') put("\\\\");
      else put(std::string_view(&c, 1));
    }
    return out;
  };
  if (!job.spec.name.empty()) {
    dir += "/" + escape(job.spec.name);
  } else {
    std::size_t n = 1;
    for (const auto& rec : job.spec.input.records)
      for (const auto& v : rec) dir += "/" + std::to_string(n++) + "/" + escape(v);
  }
  if (auto ec = platform::make_dirs(dir)) return "--results: cannot create " + dir + ": " + ec.message();
  const char* names[2] = {"/stdout", "/stderr"};
  for (int s = 0; s < 2; ++s) {
    std::error_code ec;
    job.results[s] = platform::open_write(dir + names[s], false, ec);
    if (ec) {
      close_results(job);
      return "--results: cannot write " + dir + names[s] + ": " + ec.message();
    }
  }
  std::error_code ec;
  auto seq = platform::open_write(dir + "/seq", false, ec);
  if (!ec) ec = platform::write_all(seq.get(), std::to_string(job.spec.input.seq));
  if (ec) {
    close_results(job);
    return "--results: cannot write " + dir + "/seq: " + ec.message();
  }
  job.results_dir = std::move(dir);
  return {};
}

std::string Engine::results_path(const Job& job, int stream) const {
  return job.results_dir + (stream == 0 ? "/stdout" : "/stderr");
}

void Engine::close_results(Job& job) {
  job.results[0].reset();
  job.results[1].reset();
}

void Engine::step() {
  start_jobs();
  // --round-robin: jobs waiting for a chunk take what new jobs did not (new jobs come first).
  bool waiting = false;
  for (std::size_t s = 1; s <= jobs_.size(); ++s) {
    if (jobs_[s - 1] && jobs_[s - 1]->feed_waiting) on_feed(s);
    if (jobs_[s - 1] && jobs_[s - 1]->feed_waiting) waiting = true;
  }
  if (waiting) start_jobs();  // watch the input for them
}

void Engine::on_ready(const platform::Ready& r) {
  if (r.token == kTokenInput) {
    if (input_watched_) {
      sup_.loop().remove(input_fd_);
      input_watched_ = false;
    }
    try {
      input_->on_readable();
    } catch (const InputError& e) {
      fail(Stop::InputError, e.what());
    }
  } else if (r.token >= kTokenFeedBase) {
    on_feed(static_cast<std::size_t>(r.token - kTokenFeedBase));
  } else if (r.token >= kTokenJobBase) {
    std::uint64_t k = r.token - kTokenJobBase;
    on_stream(static_cast<std::size_t>(k / 2), static_cast<int>(k % 2));
  }
}

int Engine::run() {
  if (!cfg_.results_dir.empty() && !cfg_.dry_run) {
    if (auto ec = platform::make_dirs(cfg_.results_dir))
      throw InputError(cfg_.results_dir + ": cannot create the --results directory: " + ec.message());
  }
  sup_.start(!cfg_.dry_run);
  summary_.start = platform::wall_now();
  double t0 = platform::monotonic_now();
  start_mono_ = t0;
  // Drawn only on a terminal: never into pipes or files.
  progress_active_ = (cfg_.progress || cfg_.eta || cfg_.bar) && !cfg_.dry_run && platform::is_tty(2);
  sup_.run(*this);
  draw_progress(platform::monotonic_now(), true);
  // -k: print what finished, in order, even after a stop (gaps are skipped).
  while (auto r = finished_.release_first()) emit(*r->second);
  summary_.end = platform::wall_now();
  summary_.wall_s = platform::monotonic_now() - t0;
  summary_.exit_status = exit_status();
  summary_.interrupted = stop_ != Stop::None && stop_ != Stop::Hangup;
  summary_.stop_reason = stop_reason_name(stop_);
  if (std::string err = reports_.finish(summary_); !err.empty()) {
    if (error_.empty()) error_ = std::move(err);
    summary_.exit_status = 255;
  }
  if (outcome_) outcome_->jobs_failed = summary_.failed;
  // One line: the first failure, naming the path (or input) and the cause.
  if (!error_.empty()) spdlog::error("{}", error_);
  return summary_.exit_status;
}

}  // namespace

namespace {
int run_engine(const RunConfig& cfg, JobSource& source, Launcher& launcher,
               std::unordered_set<std::size_t> resume_skip, RunOutcome* outcome) {
  if (outcome) *outcome = RunOutcome{};
  Engine engine(cfg, source, launcher, std::move(resume_skip), outcome);
  return engine.run();
}
}  // namespace

int run_jobs(const RunConfig& cfg, JobSource& source, Launcher& launcher, RunOutcome* outcome) {
  return run_engine(cfg, source, launcher, {}, outcome);
}

int run_main_job(const RunConfig& cfg, Launcher& launcher, RunOutcome* outcome) {
  std::map<std::size_t, JoblogEntry> log;
  if (cfg.resume != RunConfig::Resume::None || cfg.retry_failed) log = read_joblog(cfg.joblog_path);
  if (cfg.retry_failed) {
    RetryFailedSource source(cfg, log);
    return run_engine(cfg, source, launcher, {}, outcome);
  }
  std::unordered_set<std::size_t> skip;
  for (const auto& [seq, e] : log)
    if (cfg.resume == RunConfig::Resume::All || e.succeeded()) skip.insert(seq);
  if (cfg.pipe.mode != PipeConfig::Mode::None) {
    PipeSource source(cfg);
    return run_engine(cfg, source, launcher, std::move(skip), outcome);
  }
  TemplateSource source(cfg);
  return run_engine(cfg, source, launcher, std::move(skip), outcome);
}

}  // namespace poolrun::core
