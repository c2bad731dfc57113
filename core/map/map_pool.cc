#include "core/map/map_pool.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <deque>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <unordered_map>
#include <vector>

#include "core/errors.h"
#include "core/run/supervisor.h"
#include "core/run/termination.h"
#include "core/map/map_chunks.h"
#include "core/input/shell_or_direct.h"
#include "core/run/held_output.h"
#include "core/run/release_order.h"
#include "platform/event_loop.h"
#include "platform/map_io.h"
#include "platform/spill.h"
#include "platform/system.h"

namespace poolrun::core {
namespace {

using nlohmann::json;
using platform::UniqueFd;

constexpr std::size_t kReadChunk = 256 * 1024;        // one read of the input or of a worker
constexpr std::size_t kPipeSize = 256 * 1024;         // pipe capacity asked for, both directions
constexpr std::size_t kStartDepth = 2;                // chunks in flight per worker at first
constexpr std::size_t kMaxDepth = 16384;              // ... at most, after starvation raised it
constexpr std::uint64_t kMaxInflightBytes = 4u << 20;  // input bytes in flight per worker
constexpr double kStarveS = 0.01;                     // no output for this long: starved
constexpr std::size_t kDepthGrowth = 4;               // starved: depth *= this
constexpr double kStreamFlushS = 0.2;                 // waiting for input this long: flush
// A worker's completed chunks are held until it ends (see Worker::unconfirmed); after this many
// records held it gets no more chunks and ends, so results are never held back without bound.
constexpr std::size_t kConfirmRecords = 1u << 20;
constexpr std::uint64_t kTokenInput = Supervisor::kFirstPolicyToken;
/// A worker's launch is retried this many times while the process limit is reached (1, 2, 4, ...
/// ms apart), then the pool gives up.
constexpr int kLaunchRetries = 8;
constexpr std::uint64_t kTokenWorkerBase = Supervisor::kFirstPolicyToken + 1;  // + (slot - 1) * 2 + {0: stdout, 1: stdin}

using Stop = StopReason;

/// A chunk of consecutive input records and, once sent, what its current attempt produced.
struct Chunk {
  explicit Chunk(OutputBudget& b) : out(b) {}
  std::size_t seq = 0;
  std::size_t first = 0;  // 1-based index of its first record
  std::size_t count = 0;  // records
  std::string input;      // the records, each with its delimiter
  std::uint64_t bytes_in = 0;
  std::size_t attempts = 0;
  HeldOutput out;
  std::size_t need = 0;  // output records still expected from the current attempt
  std::uint64_t bytes_out = 0;
  std::size_t slot = 0, worker = 0;
  int pid = -1;
  double start_mono = 0, start_wall = 0, end_mono = 0, end_wall = 0;
  bool failed = false;
  std::string error;
};

/// One worker process (or, first, its --init process) in a slot.
struct Worker {
  explicit Worker(const std::string& delim) : counter(delim) {}
  enum class State { Init, Running };
  State state = State::Running;
  std::size_t slot = 0, number = 0;
  int pid = -1, init_pid = -1;
  UniqueFd in, out;
  bool in_watched = false;
  std::deque<Chunk*> inflight;
  // Chunks whose count of output records is complete, not yet confirmed. Output is attributed by
  // counting, so a worker that writes one record too many (or too few) shifts records into the
  // wrong chunks, and that shows only later, or when the worker ends. A chunk is confirmed (and
  // printed) only when its worker has ended with exactly as many output records as it was sent
  // input records; otherwise none of them is printed (docs/map.md, "The contract").
  std::vector<Chunk*> unconfirmed;
  std::size_t unconfirmed_records = 0;
  std::size_t write_idx = 0, write_off = 0;  // the chunk being written, and how far
  std::size_t depth = kStartDepth;
  std::uint64_t inflight_bytes = 0;
  std::size_t assigned = 0, completed = 0;
  RecordCounter counter;
  bool closing = false;  // no more chunks: close stdin once everything is written
  bool exited = false;
  ExitStatus status;
  bool ended_by_us = false;
  std::string broken;  // why the worker broke the contract
  std::uint64_t surplus = 0;
  double started = 0, first_write = 0, last_activity = 0, last_complete = 0, grace_deadline = 0;
  bool all_written() const { return write_idx == inflight.size(); }
};

class MapPool final : Supervisor::Policy {
 public:
  MapPool(const MapConfig& cfg, Launcher& launcher)
      : cfg_(cfg), rc_(cfg), sup_(launcher, cfg.termseq), spill_(tmpdir_), in_counter_(rc_.delimiter),
        order_(!cfg.unordered) {
    budget_.limit = rc_.output_memory;
    budget_.spill = &spill_;
    slots_ = std::max<std::size_t>(1, rc_.jobs);
    // Each worker holds two pipe ends (four fds while it starts); keep a reserve, as the engine.
    std::size_t fds = platform::raise_fd_limit();
    std::size_t reserve = fds < 128 ? 12 : 64;
    std::size_t fit = fds > reserve + 4 ? (fds - reserve) / 4 : 1;
    if (slots_ > fit) {
      spdlog::warn("only {} file descriptors available: running {} worker(s) instead of {}", fds, fit, slots_);
      slots_ = fit;
    }
    workers_.resize(slots_);
    retries_ = std::max<std::size_t>(1, rc_.retries);
    window_ = std::max<std::size_t>(8192, 4 * slots_ * kMaxDepth);
    setup_command();
    open_input();
    open_reports();
    std::error_code ec;
    dev_null_ = platform::open_dev_null(ec);
    if (ec) throw SystemError("cannot open /dev/null: " + ec.message());
  }

  int run();

 private:
  void setup_command();
  void open_input();
  void open_reports();
  // Input.
  std::unique_ptr<Chunk> cut_chunk();
  std::unique_ptr<Chunk> make_chunk(std::size_t end, std::size_t records, bool add_delim);
  bool read_input();
  // Workers.
  void pump();
  Worker* pick_worker(const Chunk& c, bool& start_new);
  void start_worker(std::size_t slot);
  void launch_worker(Worker& w);
  void assign(Worker& w, Chunk* c);
  void write_worker(Worker& w);
  void watch_in(Worker& w, bool on);
  void close_in(Worker& w);
  void on_output(Worker& w);
  void attribute(Worker& w, std::string_view data);
  void break_worker(Worker& w, std::string why);
  void maybe_finish(Worker& w);
  void finish_worker(std::size_t slot);
  void confirm(Worker& w);
  void fail_or_retry(Chunk* c, const std::string& why);
  void chunk_done(Chunk* c);
  void release();
  void check_starved(double now);
  // Events (Supervisor::Policy).
  void step() override;
  bool finished() const override;
  void on_ready(const platform::Ready& r) override;
  void on_exit(const ExitStatus& e) override;
  void on_interrupt(int sig) override;
  void on_hangup() override;
  void on_timers(double now) override;
  double next_deadline(double now) const override;
  // Termination, output.
  void stop(Stop why);
  void fail(Stop why, std::string message);
  void on_failure(Stop why, const std::string& message) override { fail(why, message); }
  void write_out(HeldOutput& h);
  json chunk_json(const Chunk& c) const;
  void report_chunk(const Chunk& c);
  std::string finish_reports(double wall_s, double start, double end, int status);
  int exit_status() const;
  bool work_left() const { return pending_ || !retry_.empty() || !input_eof_; }

  const MapConfig& cfg_;
  const PoolConfig& rc_;  // the shared settings (cfg_ itself)
  Supervisor sup_;
  platform::PrivateTempDir tmpdir_;
  platform::SpillFile spill_;
  OutputBudget budget_;
  std::size_t slots_ = 1, retries_ = 1, window_ = 8192;
  std::string exe_;
  Shell shell_;
  std::vector<std::string> argv_;
  UniqueFd dev_null_;

  // Input.
  UniqueFd input_owned_;
  int input_fd_ = 0;
  std::string input_label_;
  bool pollable_ = false, input_ready_ = false, input_watched_ = false, input_eof_ = false;
  std::string inbuf_;
  std::size_t in_pos_ = 0, scan_pos_ = 0, last_boundary_ = 0, found_ = 0;
  RecordCounter in_counter_;
  std::size_t chunksize_ = 0;  // 0: adaptive
  std::size_t next_seq_ = 1, next_record_ = 1;
  std::unique_ptr<Chunk> pending_;

  // Chunks sent or waiting for another attempt, by seq.
  std::unordered_map<std::size_t, std::unique_ptr<Chunk>> chunks_;
  std::set<std::size_t> retry_;
  ReleaseOrder<std::unique_ptr<Chunk>> order_;

  // Workers.
  std::vector<std::unique_ptr<Worker>> workers_;  // by slot - 1
  std::unordered_map<int, std::size_t> pid_slot_;  // worker and init pids
  std::vector<char> outbuf_;  // on_output()'s read buffer (kReadChunk bytes once a worker wrote)
  std::size_t workers_started_ = 0, recycled_ = 0;
  std::size_t learned_depth_ = kStartDepth;  // the depth starved workers needed: fresh ones start there

  // Results.
  Stop stop_ = Stop::None;
  int writing_ = 0;  // nesting depth of write_out(): release() does not recurse into it
  bool stdout_closed_ = false;
  std::string error_;
  std::size_t failed_chunks_ = 0, worker_failures_ = 0, done_chunks_ = 0;
  std::uint64_t records_out_ = 0, bytes_in_ = 0, bytes_out_ = 0;
  UniqueFd jsonl_;
  json kept_ = json::array();
};

// ---------------------------------------------------------------------------------------------

void MapPool::setup_command() {
  if (rc_.command.empty()) throw UsageError("--map needs a command (the worker program)");
  shell_ = Shell::require(rc_.shell);
  if (rc_.command.size() == 1) {
    // One word: a shell command line, as `--map 'awk "{print \$1*2}"'`.
    run_in_shell(shell_, rc_.command[0], exe_, argv_);
  } else {
    exe_ = platform::resolve_executable(rc_.command[0]);
    if (exe_.empty()) throw UsageError("--map: command '" + rc_.command[0] + "' not found or not executable");
    argv_ = rc_.command;
  }
}

void MapPool::open_input() {
  if (rc_.sources.size() > 1)
    throw UsageError("--map reads one input: stdin or one -a FILE (got " + std::to_string(rc_.sources.size()) + ")");
  if (!rc_.sources.empty() && rc_.sources[0].kind == InputSource::Kind::List)
    throw UsageError("--map reads records from stdin or -a FILE, not from ::: arguments");
  if (!rc_.sources.empty() && rc_.sources[0].path != "-") {
    std::error_code ec;
    input_owned_ = platform::open_read(rc_.sources[0].path, ec);
    if (ec) throw InputError(rc_.sources[0].path + ": cannot open: " + ec.message());
    input_fd_ = input_owned_.get();
    input_label_ = rc_.sources[0].path;
  } else {
    input_fd_ = 0;
    input_label_ = "stdin";
  }
  chunksize_ = cfg_.chunksize;
  if (chunksize_ == 0) chunksize_ = default_chunksize(platform::count_records_ahead(input_fd_, rc_.delimiter), slots_);
  spdlog::info("--map: {} worker(s), chunksize {}", slots_, chunksize_ ? std::to_string(chunksize_) : "adaptive (stream)");
}

void MapPool::open_reports() {
  if (!rc_.jsonl_path.empty()) {
    std::error_code ec;
    jsonl_ = platform::open_write(rc_.jsonl_path, false, ec);
    if (ec) throw InputError(rc_.jsonl_path + ": cannot open report file: " + ec.message());
  }
  if (!rc_.json_path.empty()) {
    // Opened (and truncated) now so that a bad path fails before any worker starts.
    std::error_code ec;
    platform::open_write(rc_.json_path, false, ec);
    if (ec) throw InputError(rc_.json_path + ": cannot open report file: " + ec.message());
  }
}

// --- input -------------------------------------------------------------------------------------

bool MapPool::read_input() {
  std::size_t old = inbuf_.size();
  inbuf_.resize(old + kReadChunk);
  long n = platform::read_some(input_fd_, inbuf_.data() + old, kReadChunk);
  inbuf_.resize(old + (n > 0 ? static_cast<std::size_t>(n) : 0));
  input_ready_ = false;
  if (n == -EAGAIN) return true;
  if (n < 0) {
    error_ = input_label_ + ": cannot read: " + platform::errno_message(static_cast<int>(-n));
    stop(Stop::InputError);
    return false;
  }
  if (n == 0) input_eof_ = true;
  return true;
}

std::unique_ptr<Chunk> MapPool::make_chunk(std::size_t end, std::size_t records, bool add_delim) {
  auto c = std::make_unique<Chunk>(budget_);
  c->seq = next_seq_++;
  c->first = next_record_;
  c->count = records;
  next_record_ += records;
  c->input.assign(inbuf_, in_pos_, end - in_pos_);
  if (add_delim) c->input += rc_.delimiter;  // the last record had no delimiter
  c->bytes_in = c->input.size();
  bytes_in_ += c->bytes_in;
  in_pos_ = end;
  found_ = 0;
  if (in_pos_ >= (1u << 20) || in_pos_ == inbuf_.size()) {
    inbuf_.erase(0, in_pos_);
    scan_pos_ -= in_pos_;
    last_boundary_ -= std::min(last_boundary_, in_pos_);
    in_pos_ = 0;
  }
  return c;
}

std::unique_ptr<Chunk> MapPool::cut_chunk() {
  const std::size_t want = chunksize_ ? chunksize_ : kStreamChunk;
  for (;;) {
    while (found_ < want && scan_pos_ < inbuf_.size()) {
      std::size_t need = 1;
      scan_pos_ += in_counter_.advance(std::string_view(inbuf_).substr(scan_pos_), need);
      if (need == 0) {
        ++found_;
        last_boundary_ = scan_pos_;
      }
    }
    if (found_ >= want) return make_chunk(last_boundary_, found_, false);
    if (input_eof_) {
      if (scan_pos_ > last_boundary_) {
        in_counter_.reset();
        return make_chunk(scan_pos_, found_ + 1, true);
      }
      if (found_ > 0) return make_chunk(last_boundary_, found_, false);
      return nullptr;
    }
    if (stop_ != Stop::None) return nullptr;
    if (!pollable_ || input_ready_) {
      if (!read_input()) return nullptr;
      continue;
    }
    // Nothing to read now. A stream's adaptive chunk takes what is there.
    if (chunksize_ == 0 && found_ > 0) return make_chunk(last_boundary_, found_, false);
    if (!input_watched_) {
      sup_.loop().add(input_fd_, kTokenInput);
      input_watched_ = true;
    }
    return nullptr;
  }
}

// --- workers -----------------------------------------------------------------------------------

Worker* MapPool::pick_worker(const Chunk& c, bool& start_new) {
  start_new = false;
  Worker* best = nullptr;
  bool free_slot = false;
  for (auto& w : workers_) {
    if (!w) {
      free_slot = true;
      continue;
    }
    if (w->state != Worker::State::Running || w->closing || !w->in) continue;
    if (w->inflight.size() >= w->depth) continue;
    if (!w->inflight.empty() && w->inflight_bytes + c.input.size() > kMaxInflightBytes) continue;
    if (!best || w->inflight.size() < best->inflight.size()) best = w.get();
  }
  // An idle worker first; else a new one while a slot is free; else the least loaded.
  if (best && best->inflight.empty()) return best;
  if (free_slot) {
    start_new = true;
    return nullptr;
  }
  return best;
}

void MapPool::pump() {
  while (stop_ == Stop::None) {
    Chunk* c = nullptr;
    bool retry = !retry_.empty();
    if (retry) {
      c = chunks_.at(*retry_.begin()).get();
    } else {
      if (!pending_) pending_ = cut_chunk();
      if (!pending_) break;
      if (!cfg_.unordered && pending_->seq >= order_.next_seq() + window_) break;  // bounded read-ahead
      c = pending_.get();
    }
    bool start_new = false;
    Worker* w = pick_worker(*c, start_new);
    if (!w) {
      if (!start_new) break;
      for (std::size_t s = 1; s <= slots_; ++s)
        if (!workers_[s - 1]) {
          start_worker(s);
          break;
        }
      continue;
    }
    if (retry) {
      retry_.erase(retry_.begin());
    } else {
      chunks_.emplace(c->seq, std::move(pending_));
    }
    assign(*w, c);
  }
  if (stop_ == Stop::None && input_eof_ && !pending_ && retry_.empty()) {
    // End of input: every worker gets EOF on its stdin once its chunks are written.
    for (auto& w : workers_) {
      if (!w || w->state != Worker::State::Running) continue;
      w->closing = true;
      if (w->in && w->all_written()) close_in(*w);
    }
  }
}

void MapPool::start_worker(std::size_t slot) {
  auto w = std::make_unique<Worker>(rc_.delimiter);
  w->slot = slot;
  w->number = ++workers_started_;
  w->depth = learned_depth_;
  Worker& ref = *w;
  workers_[slot - 1] = std::move(w);
  if (cfg_.init.empty()) return launch_worker(ref);
  // --init: its own process in the slot, before the worker; its output goes to stderr.
  LaunchRequest req;
  run_in_shell(shell_, cfg_.init, req.path, req.argv);
  req.stdin_fd = dev_null_.get();
  req.stdout_fd = 2;
  LaunchResult res = sup_.launch(req);
  if (!res.ok()) {
    error_ = "--init: cannot start '" + cfg_.init + "': " + platform::stage_name(res.stage) + ": " +
             res.error.message();
    workers_[slot - 1].reset();
    return stop(Stop::Setup);
  }
  ref.state = Worker::State::Init;
  ref.init_pid = res.child.pid;
  pid_slot_[res.child.pid] = slot;
}

void MapPool::launch_worker(Worker& w) {
  platform::Pipe in, out;
  std::error_code ec = platform::make_pipe(in, false);
  if (!ec) ec = platform::set_nonblocking(in.write.get(), true);
  if (!ec) ec = platform::make_pipe(out, true);
  if (ec) {
    error_ = "cannot create a pipe for a worker: " + ec.message();
    workers_[w.slot - 1].reset();
    return stop(Stop::Setup);
  }
  platform::grow_pipe(in.write.get(), kPipeSize);
  platform::grow_pipe(out.read.get(), kPipeSize);
  LaunchRequest req;
  req.path = exe_;
  req.argv = argv_;
  req.stdin_fd = in.read.get();
  req.stdout_fd = out.write.get();
  LaunchResult res = sup_.launch(req);
  // Out of processes for a moment (the fork step's EAGAIN): back off and retry, for about a
  // quarter of a second in all, before giving up on the pool (its workers are few and long-lived).
  for (int attempt = 0; res.is_try_again() && attempt < kLaunchRetries; ++attempt) {
    platform::sleep_ms(1 << attempt);
    res = sup_.launch(req);
  }
  if (!res.ok()) {
    error_ = "cannot start worker '" + exe_ + "': " + platform::stage_name(res.stage) + ": " + res.error.message();
    workers_[w.slot - 1].reset();
    return stop(Stop::Setup);
  }
  w.state = Worker::State::Running;
  w.pid = res.child.pid;
  w.started = w.last_activity = platform::monotonic_now();
  pid_slot_[res.child.pid] = w.slot;
  w.in = std::move(in.write);
  w.out = std::move(out.read);
  sup_.loop().add(w.out.get(), kTokenWorkerBase + (w.slot - 1) * 2);
  spdlog::debug("--map: worker {} (pid {}) started in slot {}", w.number, w.pid, w.slot);
}

void MapPool::assign(Worker& w, Chunk* c) {
  ++c->attempts;
  c->need = c->count;
  c->out.clear();
  c->bytes_out = 0;
  c->slot = w.slot;
  c->worker = w.number;
  c->pid = w.pid;
  c->start_mono = 0;
  w.inflight.push_back(c);
  w.inflight_bytes += c->input.size();
  ++w.assigned;
  if (cfg_.max_tasks && w.assigned >= cfg_.max_tasks) w.closing = true;  // maxtasksperchild
  write_worker(w);
}

void MapPool::write_worker(Worker& w) {
  while (w.in && !w.all_written()) {
    Chunk& c = *w.inflight[w.write_idx];
    double now = platform::monotonic_now();
    if (w.write_off == 0 && c.start_mono == 0) {
      c.start_mono = now;
      c.start_wall = platform::wall_now();
      if (w.first_write == 0) w.first_write = now;
    }
    long n = platform::write_some(w.in.get(), c.input.data() + w.write_off, c.input.size() - w.write_off);
    if (n == -EAGAIN) return watch_in(w, true);
    if (n < 0) {
      // The worker closed its stdin (or died): the chunks not fully sent cannot complete.
      spdlog::debug("--map: worker {} stopped reading its input: {}", w.number, platform::errno_message(static_cast<int>(-n)));
      close_in(w);
      if (!w.exited) {
        w.ended_by_us = true;
        sup_.terminate(w.pid);
      }
      return;
    }
    w.write_off += static_cast<std::size_t>(n);
    w.last_activity = now;
    if (w.write_off == c.input.size()) {
      ++w.write_idx;
      w.write_off = 0;
    }
  }
  watch_in(w, false);
  if (w.closing && w.in && w.all_written()) close_in(w);
}

void MapPool::watch_in(Worker& w, bool on) {
  if (!w.in || on == w.in_watched) return;
  std::uint64_t token = kTokenWorkerBase + (w.slot - 1) * 2 + 1;
  if (on) sup_.loop().add(w.in.get(), token, false, true);
  else sup_.loop().remove(w.in.get());
  w.in_watched = on;
}

void MapPool::close_in(Worker& w) {
  watch_in(w, false);
  w.in.reset();
  w.closing = true;
}

void MapPool::on_output(Worker& w) {
  // Allocated on first use: a static thread_local array would be in every poolrun's static TLS
  // block, which the dynamic loader zeroes at each start (and again for every thread).
  if (outbuf_.empty()) outbuf_.resize(kReadChunk);
  char* buf = outbuf_.data();
  for (int round = 0; round < 4 && w.out; ++round) {
    long n = platform::read_some(w.out.get(), buf, outbuf_.size());
    if (n == -EAGAIN) return;
    if (n <= 0) {
      // EOF (or an error): nothing more will come from this worker.
      if (w.counter.mid_record() && !w.inflight.empty() && w.inflight.front()->need == 1 && w.broken.empty()) {
        // The last record of the output lacks its delimiter: it still counts, as on input.
        attribute(w, rc_.delimiter);
      }
      sup_.loop().remove(w.out.get());
      w.out.reset();
      if (!w.inflight.empty() && !w.exited) {
        // It ended its output short. Whether it chose to (it exits 0: it dropped records) or is
        // dying shows in its status: it gets the grace time to exit before it is ended.
        close_in(w);
        w.grace_deadline = platform::monotonic_now() + rc_.grace_s;
      }
      return maybe_finish(w);
    }
    attribute(w, std::string_view(buf, static_cast<std::size_t>(n)));
    if (!w.broken.empty()) return maybe_finish(w);
    if (static_cast<std::size_t>(n) < outbuf_.size()) return;
  }
}

void MapPool::attribute(Worker& w, std::string_view data) {
  double now = platform::monotonic_now();
  w.last_activity = now;
  while (!data.empty()) {
    if (w.inflight.empty()) {
      // Output while it holds no chunk: more output records than it was sent input records.
      w.surplus += data.size();
      return break_worker(w, "wrote more output records than it was sent (output while it held no chunk)");
    }
    Chunk* c = w.inflight.front();
    std::size_t n = w.counter.advance(data, c->need);
    if (auto ec = c->out.append(data.substr(0, n)))
      fail(Stop::SpillError, "held output: cannot write it to a temporary file in " + spill_.where() + ": " +
                                 ec.message() + " (set TMPDIR to a writable directory with room)");
    c->bytes_out += n;
    data.remove_prefix(n);
    if (c->need > 0) continue;
    if (w.write_idx == 0) {
      // The chunk's last output record arrived before its last input record was sent.
      return break_worker(w, "wrote more output records than it was sent");
    }
    w.inflight.pop_front();
    --w.write_idx;
    w.inflight_bytes -= c->input.size();
    ++w.completed;
    w.last_complete = now;
    c->end_mono = now;
    c->end_wall = platform::wall_now();
    w.unconfirmed.push_back(c);
    w.unconfirmed_records += c->count;
    if (w.unconfirmed_records >= kConfirmRecords && !w.closing) {
      // Enough held back: it finishes what it has and ends, which confirms its chunks.
      w.closing = true;
      if (w.in && w.all_written()) close_in(w);
    }
  }
}

void MapPool::break_worker(Worker& w, std::string why) {
  if (!w.broken.empty()) return;
  w.broken = std::move(why);
  close_in(w);
  if (w.out) {
    sup_.loop().remove(w.out.get());
    w.out.reset();
  }
  if (!w.exited) {
    w.ended_by_us = true;
    sup_.terminate(w.pid);
  }
  // The caller finishes the worker (maybe_finish) once it no longer uses it.
}

void MapPool::on_exit(const ExitStatus& e) {
  auto it = pid_slot_.find(e.pid);
  if (it == pid_slot_.end()) return;
  std::size_t slot = it->second;
  pid_slot_.erase(it);
  Worker* w = workers_[slot - 1].get();
  if (!w) return;
  if (w->state == Worker::State::Init && e.pid == w->init_pid) {
    sup_.release(e.pid);
    w->init_pid = -1;
    if (stop_ != Stop::None) {
      workers_[slot - 1].reset();
      return;
    }
    if (e.exit_code != 0) {
      error_ = "--init '" + cfg_.init + "' failed in slot " + std::to_string(slot) + ": " +
               (e.signal ? "killed by signal " + std::to_string(e.signal) : "exit status " + std::to_string(e.exit_code));
      workers_[slot - 1].reset();
      stop(Stop::Setup);
      return;
    }
    launch_worker(*w);
    return;
  }
  w->exited = true;
  w->status = e;
  // One whose descendants hold the worker's stdout is followed so that ending it later never
  // signals a reused id (termination.cc).
  if (w->out) sup_.follow(e.pid);
  if (w->out) w->grace_deadline = platform::monotonic_now() + rc_.grace_s;
  maybe_finish(*w);
}

void MapPool::maybe_finish(Worker& w) {
  if (w.exited && !w.out) finish_worker(w.slot);
}

void MapPool::finish_worker(std::size_t slot) {
  std::unique_ptr<Worker> w = std::move(workers_[slot - 1]);
  bool ran_out = false;
  sup_.release(w->pid);
  std::string how = w->status.signal ? "was killed by signal " + std::to_string(w->status.signal)
                                     : "exited with status " + std::to_string(w->status.exit_code);
  bool bad_exit = w->status.signal != 0 || w->status.exit_code != 0;
  confirm(*w);
  for (Chunk* c : w->inflight) {
    std::size_t got = c->count - c->need;
    std::string why = !w->broken.empty() ? w->broken
                      : stop_ == Stop::Signal ? "interrupted"
                                              : fmt::format("{} after {} of its {} record(s)", how, got, c->count);
    fail_or_retry(c, fmt::format("worker {} (pid {}) {}", w->number, w->pid, why));
    ran_out = true;
  }
  if (w->surplus > 0) {
    spdlog::error("--map: worker {} (pid {}) wrote {} byte(s) after the output of all its records", w->number, w->pid, w->surplus);
    ++worker_failures_;
  } else if (!ran_out && bad_exit && !w->ended_by_us && stop_ == Stop::None) {
    // Every chunk came back, but the worker reports a failure at its end (e.g. `END { exit 1 }`).
    spdlog::error("--map: worker {} (pid {}) {} after its last chunk", w->number, w->pid, how);
    ++worker_failures_;
  }
  spdlog::debug("--map: worker {} (pid {}) {} after {} chunk(s)", w->number, w->pid, how, w->completed);
}

void MapPool::confirm(Worker& w) {
  // The worker has ended: its completed chunks are right only if its output records matched its
  // input records. Too many showed as a broken contract (surplus or a chunk answered before it
  // was sent). Too few shows as chunks left short: a worker that exits 0 (or closes its stdout)
  // short of records dropped some, and the records after the drop were counted into the wrong
  // chunks. A worker that died (a signal, a non-zero status, ended by poolrun) stopped in the
  // middle: what it completed before is kept.
  WorkerEnd end;
  end.broke = !w.broken.empty();
  for (const Chunk* c : w.inflight) end.short_records += c->need;
  end.died = w.ended_by_us || w.status.signal != 0 || w.status.exit_code != 0 || stop_ != Stop::None;
  const std::string why = unattributable(end, w.broken);
  std::vector<Chunk*> held = std::move(w.unconfirmed);
  w.unconfirmed.clear();
  w.unconfirmed_records = 0;
  for (Chunk* c : held) {
    if (why.empty()) {
      chunk_done(c);
    } else {
      fail_or_retry(c, fmt::format("worker {} (pid {}) {}: its records cannot be attributed to chunks", w.number,
                                   w.pid, why));
    }
  }
}

void MapPool::fail_or_retry(Chunk* c, const std::string& why) {
  c->out.clear();
  if (c->start_mono == 0) {
    c->start_mono = platform::monotonic_now();
    c->start_wall = platform::wall_now();
  }
  if (stop_ == Stop::None && c->attempts < retries_) {
    spdlog::warn("--map: chunk {} (records {}-{}): {}; retrying on a fresh worker", c->seq, c->first,
                 c->first + c->count - 1, why);
    retry_.insert(c->seq);
    return;
  }
  c->failed = true;
  c->error = why;
  c->end_mono = platform::monotonic_now();
  c->end_wall = platform::wall_now();
  if (stop_ == Stop::None)
    spdlog::error("--map: chunk {} (records {}-{}) failed: {}", c->seq, c->first, c->first + c->count - 1, why);
  chunk_done(c);
}

void MapPool::chunk_done(Chunk* c) {
  auto it = chunks_.find(c->seq);
  std::unique_ptr<Chunk> owned = std::move(it->second);
  chunks_.erase(it);
  owned->input.clear();
  owned->input.shrink_to_fit();
  if (owned->failed) ++failed_chunks_;
  else {
    ++done_chunks_;
    records_out_ += owned->count;
    bytes_out_ += owned->bytes_out;
  }
  report_chunk(*owned);
  const std::size_t seq = owned->seq;
  order_.finish(seq, std::move(owned));
  release();
}

void MapPool::release() {
  if (writing_ > 0) return;  // already inside a write: the outer call goes on releasing
  while (auto r = order_.release()) {
    if (!r->second->failed) write_out(r->second->out);
  }
}

void MapPool::check_starved(double now) {
  // Called right after pump(): a worker with room that got no chunk could not be fed.
  if (!work_left()) return;  // end of input: stdins close and buffered output flushes
  const bool chunk_waiting = pending_ || !retry_.empty();
  for (auto& wp : workers_) {
    Worker* w = wp.get();
    if (w && w->state == Worker::State::Running && !w->closing && w->in && w->inflight.empty() &&
        !w->unconfirmed.empty() && now - w->last_activity >= kStreamFlushS) {
      // Idle with results held back (the input has nothing for it, or the ordered window waits
      // for them): it ends, which confirms them; a fresh worker takes the next chunks.
      close_in(*w);
      continue;
    }
    if (!w || w->state != Worker::State::Running || w->closing || !w->in || w->inflight.empty() ||
        !w->all_written())
      continue;
    double thr = kStarveS;
    if (w->completed > 0) thr = std::max(thr, 4 * (w->last_complete - w->first_write) / static_cast<double>(w->completed));
    double quiet = now - w->last_activity;
    if (quiet < thr) continue;
    if (platform::pipe_unread(w->in.get()) != 0) continue;  // still reading: slow, not starved
    // The worker took all it was sent and answers nothing: it buffers its output (or is slow).
    bool room = w->inflight.size() < w->depth && w->inflight_bytes < kMaxInflightBytes;
    if (!room && w->depth < kMaxDepth && w->inflight_bytes < kMaxInflightBytes) {
      // Send it more: its buffer fills and it writes.
      w->depth = std::min(kMaxDepth, w->depth * kDepthGrowth);
      learned_depth_ = std::max(learned_depth_, w->depth);
      w->last_activity = now;
      continue;
    }
    // It cannot get more (at its limit, or the ordered window is full), or the input has nothing
    // for it yet (a slow stream: flush after a longer quiet time). Close its stdin so it writes
    // what it holds; a fresh worker takes over.
    if (room && !chunk_waiting && quiet < std::max(thr, kStreamFlushS)) continue;
    spdlog::debug("--map: worker {} holds its output back; closing its input to flush it", w->number);
    ++recycled_;
    close_in(*w);
  }
}

// --- signals, termination, output ---------------------------------------------------------------

void MapPool::on_hangup() {
  if (!input_eof_) spdlog::warn("received SIGHUP: reading no more input; finishing the chunks read");
  input_eof_ = true;
  if (input_watched_) {
    sup_.loop().remove(input_fd_);
    input_watched_ = false;
  }
}

void MapPool::on_interrupt(int sig) {
  spdlog::warn("received {}: ending the workers", sig == SIGINT ? "SIGINT" : "SIGTERM");
  stop(Stop::Signal);
}

void MapPool::fail(Stop why, std::string message) {
  if (error_.empty()) error_ = std::move(message);
  stop(why);
}

void MapPool::stop(Stop why) {
  if (stop_ == Stop::Signal) return;
  // A failure of poolrun's own overrides a closed stdout: the exit status must show it.
  if (stop_ != Stop::None && why != Stop::Signal && !(is_failure(why) && stop_ == Stop::Pipe)) return;
  stop_ = why;
  if (input_watched_) {
    sup_.loop().remove(input_fd_);
    input_watched_ = false;
  }
  // Chunks waiting for another attempt will not get it.
  while (!retry_.empty()) {
    Chunk* c = chunks_.at(*retry_.begin()).get();
    retry_.erase(retry_.begin());
    c->failed = true;
    c->error = "not retried: the run stopped";
    chunk_done(c);
  }
  pending_.reset();
  for (auto& w : workers_) {
    if (!w) continue;
    close_in(*w);
    if (w->init_pid > 0) sup_.terminate(w->init_pid);
    if (w->pid > 0 && !w->exited && why != Stop::Setup) {
      w->ended_by_us = true;
      sup_.terminate(w->pid);
    }
  }
}


void MapPool::on_timers(double now) {
  for (auto& wp : workers_) {
    Worker* w = wp.get();
    if (w && !w->in && w->out && w->inflight.empty() && !w->unconfirmed.empty() && w->broken.empty() &&
        now - w->last_activity >= rc_.grace_s) {
      // Its input is closed and every record came back, but it has not ended (it lingers after
      // its input, or a descendant holds its stdout): after the grace time without a byte more,
      // its count is taken as final. Output after that is still reported as a surplus.
      confirm(*w);
    }
    if (w && w->grace_deadline > 0 && now >= w->grace_deadline) {
      // The worker exited but a descendant still holds its stdout: take what is there, end them.
      w->grace_deadline = 0;
      if (w->out) on_output(*w);
      if (wp.get() != w) continue;
      if (w->out) {
        sup_.loop().remove(w->out.get());
        w->out.reset();
      }
      if (!w->exited) w->ended_by_us = true;  // it closed its stdout and did not exit
      sup_.terminate(w->pid);
      maybe_finish(*w);
    }
  }
}

double MapPool::next_deadline(double now) const {
  double next = 0;
  auto consider = [&](double t) { next = earliest(next, t); };
  bool starve_watch = false;
  for (const auto& w : workers_) {
    if (!w) continue;
    consider(w->grace_deadline);
    if (w->state == Worker::State::Running && w->in && !w->inflight.empty() && w->all_written()) starve_watch = true;
    if (w->state == Worker::State::Running && w->in && !w->closing && w->inflight.empty() && !w->unconfirmed.empty())
      consider(w->last_activity + kStreamFlushS);
    if (!w->in && w->out && w->inflight.empty() && !w->unconfirmed.empty()) consider(w->last_activity + rc_.grace_s);
  }
  if (starve_watch && work_left()) consider(now + kStarveS / 2);
  return next;
}

void MapPool::write_out(HeldOutput& h) {
  if (h.empty() || stdout_closed_) return h.clear();
  ++writing_;
  auto ec = h.write_to([&](std::string_view d) { return sup_.write(1, d); });
  --writing_;
  if (ec) {
    stdout_closed_ = true;
    // EPIPE: the reader left (e.g. `| head -1`), quietly. Anything else (ENOSPC) is said, exit 255.
    if (ec.value() == EPIPE) return stop(Stop::Pipe);
    if (error_.empty()) error_ = "standard output: " + platform::errno_message(ec.value());
    stop(Stop::OutputError);
  }
}

// --- reports -----------------------------------------------------------------------------------

json MapPool::chunk_json(const Chunk& c) const {
  json j = {{"seq", c.seq},
            {"slot", c.slot},
            {"worker", c.worker},
            {"pid", c.pid},
            {"first", c.first},
            {"last", c.first + c.count - 1},
            {"records", c.count},
            {"bytes_in", c.bytes_in},
            {"bytes_out", c.failed ? 0 : c.bytes_out},
            {"start", c.start_wall},
            {"end", c.end_wall},
            {"duration_s", std::max(0.0, c.end_mono - c.start_mono)},
            {"attempts", c.attempts},
            {"status", c.failed ? "failed" : "succeeded"}};
  if (c.failed) j["error"] = c.error;
  return j;
}

void MapPool::report_chunk(const Chunk& c) {
  if (!jsonl_ && rc_.json_path.empty()) return;
  json j = chunk_json(c);
  if (jsonl_) {
    std::string line = j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    if (auto ec = platform::write_all(jsonl_.get(), line)) {
      jsonl_.reset();  // said once
      fail(Stop::ReportError, rc_.jsonl_path + ": cannot write report: " + ec.message());
    }
  }
  if (!rc_.json_path.empty()) kept_.push_back(std::move(j));
}

std::string MapPool::finish_reports(double wall_s, double start, double end, int status) {
  std::string err;
  if (!jsonl_ && rc_.json_path.empty()) return err;
  json s = {{"chunks", done_chunks_ + failed_chunks_},
            {"succeeded", done_chunks_},
            {"failed", failed_chunks_},
            {"records", next_record_ - 1},
            {"records_out", records_out_},
            {"bytes_in", bytes_in_},
            {"bytes_out", bytes_out_},
            {"workers", workers_started_},
            {"worker_failures", worker_failures_},
            {"chunksize", chunksize_},
            {"wall_s", wall_s},
            {"records_per_s", wall_s > 0 ? static_cast<double>(next_record_ - 1) / wall_s : 0.0},
            {"start", start},
            {"end", end},
            {"exit_status", status},
            {"interrupted", stop_ != Stop::None}};
  if (stop_ != Stop::None) s["stop_reason"] = stop_reason_name(stop_);
  if (jsonl_) {
    std::string line = json{{"summary", s}}.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    if (auto ec = platform::write_all(jsonl_.get(), line)) err = rc_.jsonl_path + ": cannot write report: " + ec.message();
  }
  if (!rc_.json_path.empty()) {
    json config = {{"command", rc_.command},
                   {"jobs", slots_},
                   {"chunksize", cfg_.chunksize},
                   {"ordered", !cfg_.unordered},
                   {"max_tasks_per_worker", cfg_.max_tasks},
                   {"init", cfg_.init},
                   {"retries", retries_},
                   {"input", input_label_},
                   {"start_method", start_method_name(rc_.start_method)}};
    json doc = {{"tool", "poolrun"},   {"version", POOLRUN_VERSION}, {"mode", "map"},
                {"argv", rc_.argv},    {"config", config},           {"summary", s},
                {"chunks", kept_}};
    std::error_code ec;
    auto fd = platform::open_write(rc_.json_path, false, ec);
    if (!ec) ec = platform::write_all(fd.get(), doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
    if (ec && err.empty()) err = rc_.json_path + ": cannot write report: " + ec.message();
  }
  return err;
}

int MapPool::exit_status() const { return run_exit_status(stop_, -1, failed_chunks_ + worker_failures_); }

void MapPool::step() {
  pump();
  check_starved(platform::monotonic_now());
  pump();
}

bool MapPool::finished() const {
  bool busy = std::any_of(workers_.begin(), workers_.end(), [](const auto& w) { return w != nullptr; });
  return !busy && (stop_ != Stop::None || !work_left());
}

void MapPool::on_ready(const platform::Ready& r) {
  if (r.token == kTokenInput) {
    if (input_watched_) {
      sup_.loop().remove(input_fd_);
      input_watched_ = false;
    }
    input_ready_ = true;
  } else if (r.token >= kTokenWorkerBase) {
    std::uint64_t k = r.token - kTokenWorkerBase;
    Worker* w = workers_[k / 2].get();
    if (!w) return;
    if (k % 2 == 0) on_output(*w);
    else if (w->in) write_worker(*w);
  }
}

int MapPool::run() {
  sup_.start(true);
  // A pipe or terminal is read when epoll says so; a regular file (or /dev/null) is always ready.
  pollable_ = !sup_.loop().add(input_fd_, kTokenInput);
  if (pollable_) sup_.loop().remove(input_fd_);
  double t0 = platform::monotonic_now(), start_wall = platform::wall_now();
  sup_.run(*this);
  release();
  double wall = platform::monotonic_now() - t0;
  int status = exit_status();
  if (std::string err = finish_reports(wall, start_wall, platform::wall_now(), status); !err.empty()) {
    if (error_.empty()) error_ = std::move(err);
    status = 255;
  }
  if (!error_.empty()) spdlog::error("{}", error_);
  return status;
}

}  // namespace

int run_map(const MapConfig& cfg, Launcher& launcher) {
  MapPool pool(cfg, launcher);
  return pool.run();
}

}  // namespace poolrun::core
