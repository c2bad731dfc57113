#include "core/bench/executors.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstring>
#include <deque>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/errors.h"
#include "platform/bench/threads.h"
#include "platform/bench/worker.h"
#include "platform/fd.h"
#include "platform/system.h"

namespace poolrun::core {

using platform::Chunk;
using platform::ChunkResult;
using platform::Trailer;
using platform::UniqueFd;
using platform::WorkerConfig;

WorkerConfig make_worker_config(const BenchTask& t, bool gil) {
  WorkerConfig c;
  std::memset(&c, 0, sizeof c);
  c.magic = platform::kConfigMagic;
  c.kind = static_cast<std::uint32_t>(t.kind);
  c.gil = gil ? 1 : 0;
  c.iterations = t.iterations;
  c.sleep_ns = static_cast<std::int64_t>(std::llround(t.sleep_s * 1e9));
  c.sleep_max_ns = static_cast<std::int64_t>(std::llround(t.sleep_max_s * 1e9));
  if (t.path.size() >= sizeof c.path) throw UsageError("read:" + t.path + ": the path is too long");
  c.path_len = static_cast<std::uint32_t>(t.path.size());
  std::memcpy(c.path, t.path.data(), t.path.size());
  return c;
}

namespace {

struct Inflight {
  Chunk chunk;
  unsigned attempts;
};

struct PoolWorker {
  int pid = -1;
  UniqueFd task_w;    ///< non-blocking; in the loop at the worker's write token
  UniqueFd result_r;  ///< non-blocking; in the loop at the worker's read token
  std::string out;    ///< bytes not yet written to task_w
  std::size_t out_off = 0;
  bool want_write = false;  ///< task_w's write interest in the loop
  std::string in;           ///< bytes of an incomplete result (or of the trailer)
  std::deque<Inflight> inflight;
  std::uint64_t piece_left = 0;    ///< values still to read of the current result piece
  std::uint64_t front_done = 0;    ///< results of the front chunk read so far
  std::uint64_t front_failed = 0;  ///< of which failed
  std::uint64_t front_sum = 0;     ///< their sum (kept apart: a lost worker's chunk runs again whole)
  bool alive = false;              ///< started, not lost, not closed by a stop
};

/// The process pool as a policy on the supervisor. Each worker slot i has two tokens:
/// kFirstPolicyToken + 2i (its results, readable) and + 2i + 1 (its tasks, writable).
class ProcessPool final : public Supervisor::Policy {
 public:
  ProcessPool(Supervisor& sup, const PoolOptions& o)
      : sup_(sup), o_(o), cfg_(make_worker_config(o.task, o.gil)),
        chunksize_(o.sync ? 1 : std::max<std::size_t>(1, o.chunksize)) {}

  BenchRun run();

  void step() override;
  bool finished() const override;
  void on_ready(const platform::Ready& r) override;
  void on_exit(const ExitStatus& e) override;
  void on_interrupt(int sig) override { stop(sig); }
  void on_hangup() override { stop(SIGHUP); }  // a sweep has no "let it finish": it stops
  void on_timers(double) override {}
  double next_deadline(double) const override { return 0; }
  void on_failure(StopReason, const std::string& message) override {
    if (failure_.empty()) failure_ = message;
    stop(0);
  }

 private:
  enum class State { Running, Closing, Stopping };

  bool start_worker(std::size_t i);
  void lose_worker(PoolWorker& w);
  void stop(int sig);
  void begin_close();
  void note_error(std::string what);
  void dispatch();
  bool read_results(PoolWorker& w);  // false at EOF, an error, or results out of step
  void read_trailer(PoolWorker& w);
  void write_tasks(std::size_t i);
  void drop_fds(PoolWorker& w);
  std::size_t depth() const;
  std::string start_failure() const;
  static std::uint64_t read_token(std::size_t i) { return Supervisor::kFirstPolicyToken + 2 * i; }
  static std::uint64_t write_token(std::size_t i) { return Supervisor::kFirstPolicyToken + 2 * i + 1; }

  Supervisor& sup_;
  const PoolOptions& o_;
  WorkerConfig cfg_;
  std::size_t chunksize_;
  State state_ = State::Running;
  std::vector<PoolWorker> workers_;
  std::uint64_t next_item_ = 0;
  std::deque<Inflight> retry_;
  std::uint64_t done_ = 0;
  std::size_t inflight_total_ = 0;
  double chunk_ns_ = -1;  ///< running estimate of a chunk's time in a worker
  BenchRun res_;
  std::unordered_set<int> pids_;    ///< every worker started
  std::unordered_set<int> exited_;  ///< workers reaped
  int stop_signal_ = 0;             ///< the signal that stopped the run
  std::string failure_;             ///< poolrun's own failure that stopped the run
  std::error_code last_error_;
  std::string last_stage_;
};

std::string ProcessPool::start_failure() const {
  return fmt::format("({}, {}): {}", sup_.start_method(), last_stage_.empty() ? "pipe" : last_stage_,
                     platform::errno_message(last_error_.value()));
}

bool ProcessPool::start_worker(std::size_t i) {
  PoolWorker& w = workers_[i];
  platform::Pipe task, result;
  if (auto ec = platform::make_pipe(task)) return last_error_ = ec, false;
  if (auto ec = platform::make_pipe(result)) return last_error_ = ec, false;
  LaunchResult lr = sup_.launch_builtin(platform::kBenchWorkerEntry, task.read.get(), result.write.get());
  if (!lr.ok()) {
    last_error_ = lr.error;
    last_stage_ = platform::stage_name(lr.stage);
    return false;
  }
  pids_.insert(lr.child.pid);
  w.pid = lr.child.pid;
  w.task_w = std::move(task.write);
  w.result_r = std::move(result.read);
  platform::set_nonblocking(w.task_w.get(), true);
  platform::set_nonblocking(w.result_r.get(), true);
  w.out.assign(reinterpret_cast<const char*>(&cfg_), sizeof cfg_);
  w.out_off = 0;
  w.in.clear();
  w.inflight.clear();
  w.piece_left = w.front_done = w.front_failed = 0;
  w.front_sum = 0;
  w.alive = true;
  sup_.loop().add(w.result_r.get(), read_token(i));
  sup_.loop().add(w.task_w.get(), write_token(i), false, true);
  w.want_write = true;
  return true;
}

std::size_t ProcessPool::depth() const {
  if (o_.sync) return 1;
  // Enough chunks to keep a worker busy for ~1 ms between our visits; one at a time for long
  // chunks (and before any timing is known), so a free worker takes the next chunk.
  if (chunk_ns_ < 0 || chunk_ns_ >= 1e6) return 1;
  return static_cast<std::size_t>(std::clamp(1e6 / std::max(chunk_ns_, 1.0), 2.0, 4096.0));
}

void ProcessPool::dispatch() {
  const std::size_t d = depth();
  for (auto& w : workers_) {
    if (!w.alive) continue;
    while (w.inflight.size() < d && (!o_.sync || inflight_total_ == 0)) {
      Inflight f;
      if (!retry_.empty()) {
        f = retry_.front();
        retry_.pop_front();
      } else if (next_item_ < o_.tasks) {
        std::uint64_t n = std::min<std::uint64_t>(chunksize_, o_.tasks - next_item_);
        f = {{next_item_, n}, 0};
        next_item_ += n;
      } else {
        return;
      }
      f.attempts++;
      w.inflight.push_back(f);
      ++inflight_total_;
      w.out.append(reinterpret_cast<const char*>(&f.chunk), sizeof f.chunk);
    }
  }
}

void ProcessPool::write_tasks(std::size_t i) {
  PoolWorker& w = workers_[i];
  if (!w.alive || !w.task_w) return;
  while (w.out_off < w.out.size()) {
    long n = platform::write_some(w.task_w.get(), w.out.data() + w.out_off, w.out.size() - w.out_off);
    if (n > 0) {
      w.out_off += static_cast<std::size_t>(n);
      continue;
    }
    if (n == -EAGAIN) break;
    // EPIPE: the worker is gone; its results pipe tells us (EOF). Its task pipe is of no more
    // use, and out of the loop it cannot report an error again and again.
    sup_.loop().remove(w.task_w.get());
    w.task_w.reset();
    w.want_write = false;
    return;
  }
  if (w.out_off == w.out.size()) {
    w.out.clear();
    w.out_off = 0;
  }
  const bool want = !w.out.empty();
  if (want != w.want_write) {
    sup_.loop().modify(w.task_w.get(), write_token(i), false, want);
    w.want_write = want;
  }
}

bool ProcessPool::read_results(PoolWorker& w) {
  char buf[64 * 1024];
  for (;;) {
    long n = platform::read_some(w.result_r.get(), buf, sizeof buf);
    if (n == -EAGAIN) return true;
    if (n <= 0) return false;
    w.in.append(buf, static_cast<std::size_t>(n));
    std::size_t off = 0;
    for (;;) {
      if (w.piece_left > 0) {
        std::size_t k = std::min<std::uint64_t>(w.piece_left, (w.in.size() - off) / 8);
        for (std::size_t i = 0; i < k; ++i) {
          std::int64_t v;
          std::memcpy(&v, w.in.data() + off + 8 * i, 8);
          w.front_sum += static_cast<std::uint64_t>(v);
        }
        off += 8 * k;
        w.piece_left -= k;
        w.front_done += k;
        if (w.piece_left > 0) break;
        if (w.front_done == w.inflight.front().chunk.count) {
          done_ += w.front_done;
          res_.checksum += w.front_sum;
          res_.tasks_failed += w.front_failed;
          w.front_done = w.front_failed = 0;
          w.front_sum = 0;
          w.inflight.pop_front();
          --inflight_total_;
        }
        continue;
      }
      if (w.in.size() - off < sizeof(ChunkResult)) break;
      ChunkResult r;
      std::memcpy(&r, w.in.data() + off, sizeof r);
      off += sizeof r;
      if (w.inflight.empty() || r.count == 0 || r.first != w.inflight.front().chunk.first + w.front_done ||
          w.front_done + r.count > w.inflight.front().chunk.count) {
        // Out of step: nothing more from this worker can be trusted. End it; it counts as lost.
        sup_.terminate(w.pid, true);
        return false;
      }
      w.front_failed += r.failed;
      if (r.err != 0) note_error(o_.task.spec + ": " + platform::errno_message(r.err));
      double ns = static_cast<double>(r.ns) * static_cast<double>(w.inflight.front().chunk.count) / r.count;
      chunk_ns_ = chunk_ns_ < 0 ? ns : 0.8 * chunk_ns_ + 0.2 * ns;
      w.piece_left = r.count;
    }
    w.in.erase(0, off);
  }
}

void ProcessPool::read_trailer(PoolWorker& w) {
  // After the pool closed: what is left is the worker's trailer (its run-queue wait), then EOF.
  char buf[4096];
  for (;;) {
    long n = platform::read_some(w.result_r.get(), buf, sizeof buf);
    if (n == -EAGAIN) return;
    if (n <= 0) break;
    w.in.append(buf, static_cast<std::size_t>(n));
  }
  Trailer t = {};
  if (w.in.size() == sizeof t) std::memcpy(&t, w.in.data(), sizeof t);
  if (t.magic == platform::kTrailerMagic && t.runqueue_ns >= 0)
    res_.runqueue_s += static_cast<double>(t.runqueue_ns) / 1e9;
  else
    res_.runqueue_known = false;
  drop_fds(w);
}

void ProcessPool::drop_fds(PoolWorker& w) {
  for (UniqueFd* fd : {&w.task_w, &w.result_r}) {
    if (!*fd) continue;
    sup_.loop().remove(fd->get());
    fd->reset();
  }
  w.want_write = false;
}

void ProcessPool::note_error(std::string what) {
  if (res_.first_error.empty()) res_.first_error = std::move(what);
}

void ProcessPool::lose_worker(PoolWorker& w) {
  w.alive = false;
  drop_fds(w);
  ++res_.workers_lost;
  res_.runqueue_known = false;
  // Its chunks go again, to another worker; the one it was running when it died is retried once.
  // (The results of the front chunk read so far are dropped: the whole chunk runs again.)
  for (auto it = w.inflight.rbegin(); it != w.inflight.rend(); ++it) {
    --inflight_total_;
    if (it->attempts >= 2) {
      res_.tasks_failed += it->chunk.count;
      done_ += it->chunk.count;
      note_error(fmt::format("{}: the worker process running items {}..{} ended before it answered, twice",
                             o_.task.spec, it->chunk.first, it->chunk.first + it->chunk.count - 1));
    } else {
      res_.tasks_retried += it->chunk.count;
      retry_.push_front(*it);
    }
  }
  w.inflight.clear();
  w.piece_left = w.front_done = w.front_failed = 0;
  w.front_sum = 0;
  w.in.clear();
  w.out.clear();
  w.out_off = 0;
}

void ProcessPool::begin_close() {
  // Close the pool: EOF on every task pipe ends the workers, each after its trailer.
  state_ = State::Closing;
  for (auto& w : workers_) {
    if (!w.task_w) continue;
    sup_.loop().remove(w.task_w.get());
    w.task_w.reset();
    w.want_write = false;
  }
}

void ProcessPool::stop(int sig) {
  if (state_ == State::Stopping) return;
  state_ = State::Stopping;
  if (sig != 0) stop_signal_ = sig;
  // No more tasks, no more results: a worker blocked writing its results gets EPIPE. Every
  // worker not reaped yet is ended with the termseq (a reaped one's number may be another's).
  for (auto& w : workers_) {
    w.alive = false;
    drop_fds(w);
  }
  for (int pid : pids_)
    if (!exited_.count(pid)) sup_.terminate(pid);
}

void ProcessPool::step() {
  if (state_ != State::Running) return;
  if (done_ >= o_.tasks) return begin_close();
  dispatch();
  bool any = false;
  for (std::size_t i = 0; i < workers_.size(); ++i) {
    write_tasks(i);
    any = any || workers_[i].alive;
  }
  if (any) return;
  // Every worker is gone: start new ones for what is left.
  std::size_t n = 0;
  for (std::size_t i = 0; i < workers_.size(); ++i) n += start_worker(i);
  if (n == 0) {
    res_.tasks_failed += o_.tasks - done_;
    note_error("cannot start a worker again " + start_failure());
    return begin_close();
  }
  dispatch();
  for (std::size_t i = 0; i < workers_.size(); ++i) write_tasks(i);
}

bool ProcessPool::finished() const {
  if (state_ == State::Running || exited_.size() < pids_.size()) return false;
  if (state_ == State::Stopping) return true;
  for (const auto& w : workers_)
    if (w.result_r) return false;  // a trailer still to read
  return true;
}

void ProcessPool::on_ready(const platform::Ready& r) {
  const std::uint64_t k = r.token - Supervisor::kFirstPolicyToken;
  const std::size_t i = static_cast<std::size_t>(k / 2);
  if (i >= workers_.size()) return;
  PoolWorker& w = workers_[i];
  if (k % 2 == 1) return write_tasks(i);
  if (!w.result_r) return;
  if (state_ == State::Closing) return read_trailer(w);
  if (state_ != State::Running || read_results(w)) return;
  lose_worker(w);
  // A replacement, as Pool does, when there is work left.
  if (done_ < o_.tasks) start_worker(i);
}

void ProcessPool::on_exit(const ExitStatus& e) {
  if (!pids_.count(e.pid)) return;
  res_.user_s += e.user_s;
  res_.sys_s += e.sys_s;
  exited_.insert(e.pid);
  sup_.release(e.pid);  // reaped: its group is gone, and its number may be reused
}

BenchRun ProcessPool::run() {
  res_.runqueue_known = true;  // until a worker is lost without its trailer
  const double t0 = platform::monotonic_now();
  workers_.resize(std::max<std::size_t>(1, o_.workers));
  std::size_t alive = 0;
  for (std::size_t i = 0; i < workers_.size(); ++i) alive += start_worker(i);
  if (alive == 0) throw SystemError("bench: cannot start a worker " + start_failure());
  sup_.run(*this);
  res_.wall_s = platform::monotonic_now() - t0;
  res_.stop_signal = stop_signal_;
  if (!failure_.empty()) throw SystemError("bench: " + failure_);
  return res_;
}

}  // namespace

BenchRun run_process_pool(Supervisor& sup, const PoolOptions& o) {
  ProcessPool pool(sup, o);
  return pool.run();
}

BenchRun run_in_threads(const PoolOptions& o, bool thread, platform::SignalEvents* signals) {
  const WorkerConfig cfg = make_worker_config(o.task, o.gil);
  platform::ThreadRunOptions to;
  to.task = &cfg;
  to.tasks = o.tasks;
  to.workers = o.workers;
  to.chunksize = o.chunksize;
  to.sync = o.sync;
  to.signals = signals;
  platform::ThreadRun tr;
  std::error_code ec = thread ? platform::run_thread_pool(to, tr) : platform::run_serial(to, tr);
  if (ec) throw SystemError("bench: cannot create a pipe: " + ec.message());
  BenchRun r;
  r.wall_s = tr.wall_s;
  r.user_s = tr.user_s;
  r.sys_s = tr.sys_s;
  r.runqueue_s = tr.runqueue_s;
  r.runqueue_known = tr.runqueue_known;
  r.tasks_failed = tr.tasks_failed;
  if (tr.first_errno != 0) r.first_error = o.task.spec + ": " + platform::errno_message(tr.first_errno);
  r.checksum = tr.checksum;
  r.stop_signal = tr.stop_signal;
  return r;
}

}  // namespace poolrun::core
