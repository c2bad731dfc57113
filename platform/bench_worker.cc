#include "platform/bench_worker.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/errors.h"
#include "core/run/termination.h"
#include "platform/event_loop.h"
#include "platform/fd.h"
#include "platform/process/guardian.h"
#include "platform/system.h"

namespace poolrun::platform {
namespace {

// ---------------------------------------------------------------------------------------------
// Tasks (shared by every executor)

constexpr uint32_t kConfigMagic = 0x50524257;  // "PRBW"

/// A task in fixed-size form: what crosses the pipe to a worker, and what threads use too.
struct WorkerConfig {
  uint32_t magic;
  uint32_t kind;  ///< core::BenchTask::Kind
  uint32_t gil;
  uint32_t path_len;
  uint64_t iterations;
  int64_t sleep_ns;
  int64_t sleep_max_ns;
  char path[PATH_MAX];
};

struct Chunk {
  uint64_t first;
  uint64_t count;
};
static_assert(sizeof(Chunk) == 16);

struct ChunkResult {
  uint64_t first;
  uint32_t count;
  uint32_t failed;  ///< tasks of the chunk that failed (their result is 0)
  int64_t ns;       ///< time the chunk took in the worker
  int32_t err;      ///< errno of the piece's first failed task; 0 when none failed
  uint32_t unused;
};
static_assert(sizeof(ChunkResult) == 32);

/// The worker's last record, after the pool closed its task pipe: how long it waited for a CPU.
constexpr uint64_t kTrailerMagic = 0x5052425754524c52ull;  // "PRBWTRLR"
struct Trailer {
  uint64_t magic;
  int64_t runqueue_ns;  ///< -1: unknown
};

WorkerConfig make_config(const core::BenchTask& t, bool gil) {
  WorkerConfig c;
  memset(&c, 0, sizeof c);
  c.magic = kConfigMagic;
  c.kind = static_cast<uint32_t>(t.kind);
  c.gil = gil ? 1 : 0;
  c.iterations = t.iterations;
  c.sleep_ns = static_cast<int64_t>(std::llround(t.sleep_s * 1e9));
  c.sleep_max_ns = static_cast<int64_t>(std::llround(t.sleep_max_s * 1e9));
  if (t.path.size() >= sizeof c.path) throw UsageError("read:" + t.path + ": the path is too long");
  c.path_len = static_cast<uint32_t>(t.path.size());
  memcpy(c.path, t.path.data(), t.path.size());
  return c;
}

int64_t now_ns() noexcept {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

/// Set when a signal stops the thread or serial executor: tasks running in poolrun's own threads
/// look at it and return early (their results no longer matter). Never set in a worker process,
/// which its termination signal ends instead. Lock-free, so the forked worker may read it.
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);

bool stop_requested() noexcept { return g_stop.load(std::memory_order_relaxed); }

/// The longest a sleeping task goes without looking at g_stop.
constexpr int64_t kSleepSliceNs = 50'000'000;

/// Sleeps `ns`, to an absolute deadline (a slice's wake-up does not add up), in slices so that a
/// stop request is seen within kSleepSliceNs.
void sleep_ns(int64_t ns) noexcept {
  if (ns <= 0) return;
  const int64_t end = now_ns() + ns;
  for (;;) {
    if (stop_requested()) return;
    const int64_t now = now_ns();
    if (now >= end) return;
    const int64_t until = end - now > kSleepSliceNs ? now + kSleepSliceNs : end;
    struct timespec at = {static_cast<time_t>(until / 1000000000), static_cast<long>(until % 1000000000)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, nullptr);  // EINTR: the loop goes on
  }
}

/// Iterations of cpu:N between two looks at g_stop (~2 ms here; the relaxed load costs nothing
/// beside them).
constexpr uint64_t kSpinBlock = uint64_t{1} << 20;

/// The integer recurrence of cpu:N (a 64-bit LCG with an xorshift). Its result is returned and
/// sent back, so the compiler must run every iteration. A stop request ends it early (the result
/// is then meaningless, and not used).
uint64_t spin(uint64_t seed, uint64_t n) noexcept {
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (uint64_t i = 0; i < n;) {
    const uint64_t block = n - i < kSpinBlock ? n - i : kSpinBlock;
    for (uint64_t j = 0; j < block; ++j) {
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      x ^= x >> 29;
    }
    i += block;
    if (stop_requested()) break;
  }
  return x;
}

/// The lock a task holds while it computes (--gil): one for all threads, or one per process.
std::mutex g_gil;

/// Runs task `item`. Returns its result; sets `err` to the errno of the failure when it could not
/// run (read: the file), to 0 otherwise.
int64_t run_task(const WorkerConfig& c, uint64_t item, int& err) noexcept {
  using Kind = core::BenchTask::Kind;
  err = 0;
  auto compute = [&](uint64_t n) {
    if (c.gil) g_gil.lock();
    uint64_t r = spin(item, n);
    if (c.gil) g_gil.unlock();
    return static_cast<int64_t>(r & 0x7fffffffffffffffull);
  };
  switch (static_cast<Kind>(c.kind)) {
    case Kind::Cpu:
      return compute(c.iterations);
    case Kind::Io:
      sleep_ns(c.sleep_ns);
      return static_cast<int64_t>(item);
    case Kind::Mix: {
      int64_t r = compute(c.iterations);
      sleep_ns(c.sleep_ns);
      return r;
    }
    case Kind::Square: {
      // A duration spread over [sleep, sleep_max], fixed by the item (a hash of its number).
      uint64_t h = item * 0x9E3779B97F4A7C15ull;
      h ^= h >> 31;
      h *= 0xBF58476D1CE4E5B9ull;
      h ^= h >> 27;
      double frac = static_cast<double>(h >> 11) / 9007199254740992.0;
      sleep_ns(c.sleep_ns + static_cast<int64_t>(frac * static_cast<double>(c.sleep_max_ns - c.sleep_ns)));
      return static_cast<int64_t>(item * item);
    }
    case Kind::Read: {
      int fd;
      do {
        fd = ::open(c.path, O_RDONLY | O_CLOEXEC);
      } while (fd < 0 && errno == EINTR);
      if (fd < 0) {
        err = errno;
        return 0;
      }
      // On the stack, not static thread_local: a TLS array is zeroed at every poolrun start and
      // for every thread, whether or not it ever reads a file.
      alignas(64) char buf[64 * 1024];
      int64_t total = 0;
      for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) err = errno;
        if (n <= 0 || stop_requested()) break;
        total += n;
      }
      ::close(fd);
      return total;
    }
  }
  err = EINVAL;
  return 0;
}

/// The calling thread's time spent waiting on a run queue (runnable, not running), in ns, from
/// /proc/thread-self/schedstat (second field); -1 when the kernel does not provide it.
/// Allocation-free: the worker calls it in a forked copy.
int64_t runqueue_wait_ns() noexcept {
  int fd = ::open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  char buf[128];
  ssize_t n = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  if (n <= 0) return -1;
  buf[n] = '\0';
  const char* p = buf;
  while (*p && *p != ' ') ++p;  // skip the time on the CPU
  if (*p != ' ') return -1;
  ++p;
  int64_t v = 0;
  bool any = false;
  for (; *p >= '0' && *p <= '9'; ++p, any = true) v = v * 10 + (*p - '0');
  return any ? v : -1;
}

double tv_s(const struct timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; }

void self_cpu(double& user, double& sys) {
  struct rusage ru = {};
  ::getrusage(RUSAGE_SELF, &ru);
  user = tv_s(ru.ru_utime);
  sys = tv_s(ru.ru_stime);
}

// ---------------------------------------------------------------------------------------------
// The worker (allocation-free; see run_builtin_worker)

bool write_full(int fd, const char* p, size_t n) noexcept {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

void run_builtin_worker() noexcept {
  static WorkerConfig cfg;
  alignas(8) static char in[64 * 1024];
  alignas(8) static char out[64 * 1024];
  size_t in_len = 0, out_len = 0;
  // The config first.
  size_t got = 0;
  while (got < sizeof cfg) {
    ssize_t n = ::read(0, reinterpret_cast<char*>(&cfg) + got, sizeof cfg - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ::_exit(n == 0 && got == 0 ? 0 : 1);
    got += static_cast<size_t>(n);
  }
  if (cfg.magic != kConfigMagic || cfg.path_len >= sizeof cfg.path) ::_exit(1);
  cfg.path[cfg.path_len] = '\0';
  auto flush = [&]() noexcept {
    if (out_len && !write_full(1, out, out_len)) ::_exit(1);
    out_len = 0;
  };
  for (;;) {
    // Run every whole chunk that has arrived, then write all their results at once.
    size_t off = 0;
    while (in_len - off >= sizeof(Chunk)) {
      Chunk ch;
      memcpy(&ch, in + off, sizeof ch);
      off += sizeof ch;
      // Results in pieces that fit the buffer: {first, count, failed, ns} then count values.
      uint64_t i = 0;
      while (i < ch.count) {
        if (out_len + sizeof(ChunkResult) + 8 > sizeof out) flush();
        const uint64_t room = (sizeof out - out_len - sizeof(ChunkResult)) / 8;
        const uint64_t k = ch.count - i < room ? ch.count - i : room;
        ChunkResult r = {ch.first + i, static_cast<uint32_t>(k), 0, 0, 0, 0};
        const size_t head = out_len;
        out_len += sizeof r;
        const int64_t start = now_ns();
        for (uint64_t j = 0; j < k; ++j) {
          int err;
          int64_t v = run_task(cfg, ch.first + i + j, err);
          if (err != 0 && r.failed++ == 0) r.err = err;
          memcpy(out + out_len, &v, 8);
          out_len += 8;
        }
        r.ns = now_ns() - start;
        memcpy(out + head, &r, sizeof r);
        i += k;
      }
    }
    memmove(in, in + off, in_len - off);
    in_len -= off;
    flush();
    ssize_t n = ::read(0, in + in_len, sizeof in - in_len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ::_exit(1);
    if (n == 0) {
      if (in_len != 0) ::_exit(1);
      const Trailer t = {kTrailerMagic, runqueue_wait_ns()};
      ::_exit(write_full(1, reinterpret_cast<const char*>(&t), sizeof t) ? 0 : 1);
    }
    in_len += static_cast<size_t>(n);
  }
}

// ---------------------------------------------------------------------------------------------
// The process pool

namespace {

struct Inflight {
  Chunk chunk;
  unsigned attempts;
};

struct PoolWorker {
  int pid = -1;
  UniqueFd task_w;    ///< non-blocking
  UniqueFd result_r;  ///< non-blocking
  std::string out;    ///< bytes not yet written to task_w
  size_t out_off = 0;
  std::string in;     ///< bytes of an incomplete result
  std::deque<Inflight> inflight;
  uint64_t piece_left = 0;    ///< values still to read of the current result piece
  uint64_t front_done = 0;    ///< results of the front chunk read so far
  uint64_t front_failed = 0;  ///< of which failed
  uint64_t front_sum = 0;     ///< their sum (kept apart: a lost worker's chunk runs again whole)
  bool alive = false;
};

class ProcessPool {
 public:
  ProcessPool(const PoolOptions& o, Launcher& l) : o_(o), launcher_(l), cfg_(make_config(o.task, o.gil)) {
    chunksize_ = o.sync ? 1 : std::max<std::size_t>(1, o.chunksize);
  }

  core::BenchRun run();

 private:
  bool start_worker(PoolWorker& w);
  void lose_worker(PoolWorker& w);
  void on_signals();
  void end_workers();
  void note_error(std::string what);
  void dispatch();
  bool read_results(PoolWorker& w);  // false at EOF, an error, or results out of step
  void write_tasks(PoolWorker& w);
  void collect(bool block);
  std::size_t depth() const;

  const PoolOptions& o_;
  Launcher& launcher_;
  WorkerConfig cfg_;
  std::size_t chunksize_;
  std::vector<PoolWorker> workers_;
  uint64_t next_item_ = 0;
  std::deque<Inflight> retry_;
  uint64_t done_ = 0;
  std::size_t inflight_total_ = 0;
  double chunk_ns_ = -1;  ///< running estimate of a chunk's time in a worker
  core::BenchRun res_;
  std::map<int, ExitStatus> exited_;  ///< workers reaped (only ours: wait4(-1) may see others)
  std::set<int> pids_;                ///< every worker started
  std::size_t started_ = 0;
  int stop_signal_ = 0;                     ///< the signal that stops the run; 0 while it goes on
  bool kill_now_ = false;                   ///< a second signal: SIGKILL, no termseq
  int last_error_ = 0;
  std::string last_stage_;
};

bool ProcessPool::start_worker(PoolWorker& w) {
  Pipe task, result;
  if (auto ec = make_pipe(task)) return last_error_ = ec.value(), false;
  if (auto ec = make_pipe(result)) return last_error_ = ec.value(), false;
  // Should poolrun die before the launch returns, the guardian looks for the new worker itself.
  if (o_.guardian) o_.guardian->launching();
  LaunchResult lr = launcher_.launch_builtin(kBenchWorkerEntry, task.read.get(), result.write.get());
  if (lr.ok() && o_.guardian) o_.guardian->watch(lr.child.pid);  // its own group: pgid == pid
  if (o_.guardian) o_.guardian->launched();
  if (!lr.ok()) {
    last_error_ = lr.error.value();
    last_stage_ = stage_name(lr.stage);
    return false;
  }
  ++started_;
  pids_.insert(lr.child.pid);
  w.pid = lr.child.pid;
  w.task_w = std::move(task.write);
  w.result_r = std::move(result.read);
  set_nonblocking(w.task_w.get(), true);
  set_nonblocking(w.result_r.get(), true);
  w.out.assign(reinterpret_cast<const char*>(&cfg_), sizeof cfg_);
  w.out_off = 0;
  w.in.clear();
  w.inflight.clear();
  w.piece_left = w.front_done = w.front_failed = 0;
  w.front_sum = 0;
  w.alive = true;
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
        uint64_t n = std::min<uint64_t>(chunksize_, o_.tasks - next_item_);
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

void ProcessPool::write_tasks(PoolWorker& w) {
  while (w.alive && w.out_off < w.out.size()) {
    ssize_t n = ::write(w.task_w.get(), w.out.data() + w.out_off, w.out.size() - w.out_off);
    if (n > 0) {
      w.out_off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;  // EAGAIN: later; EPIPE: the worker is gone, its results pipe tells us
  }
  if (w.out_off == w.out.size()) {
    w.out.clear();
    w.out_off = 0;
  }
}

bool ProcessPool::read_results(PoolWorker& w) {
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(w.result_r.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (n <= 0) return false;
    w.in.append(buf, static_cast<size_t>(n));
    size_t off = 0;
    for (;;) {
      if (w.piece_left > 0) {
        size_t k = std::min<uint64_t>(w.piece_left, (w.in.size() - off) / 8);
        for (size_t i = 0; i < k; ++i) {
          int64_t v;
          memcpy(&v, w.in.data() + off + 8 * i, 8);
          w.front_sum += static_cast<uint64_t>(v);
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
      memcpy(&r, w.in.data() + off, sizeof r);
      off += sizeof r;
      if (w.inflight.empty() || r.count == 0 || r.first != w.inflight.front().chunk.first + w.front_done ||
          w.front_done + r.count > w.inflight.front().chunk.count) {
        // Out of step: nothing more from this worker can be trusted. End it; it counts as lost.
        ::kill(w.pid, SIGKILL);
        return false;
      }
      w.front_failed += r.failed;
      if (r.err != 0) note_error(o_.task.spec + ": " + errno_message(r.err));
      double ns = static_cast<double>(r.ns) * static_cast<double>(w.inflight.front().chunk.count) / r.count;
      chunk_ns_ = chunk_ns_ < 0 ? ns : 0.8 * chunk_ns_ + 0.2 * ns;
      w.piece_left = r.count;
    }
    w.in.erase(0, off);
  }
}

void ProcessPool::collect(bool block) {
  std::vector<ExitStatus> st;
  if (block) launcher_.collect_blocking(st);
  else launcher_.collect(st);
  for (auto& s : st) {
    if (!pids_.count(s.pid)) continue;  // not a worker (the guardian, a command's leftover)
    res_.user_s += s.user_s;
    res_.sys_s += s.sys_s;
    exited_[s.pid] = s;
    // Reaped: its group is gone, and its number may be reused.
    if (o_.guardian) o_.guardian->unwatch(s.pid);
  }
}

void ProcessPool::note_error(std::string what) {
  if (res_.first_error.empty()) res_.first_error = std::move(what);
}

void ProcessPool::on_signals() {
  std::vector<int> sigs;
  o_.signals->drain(sigs);
  for (int sig : sigs) {
    if (sig == SIGCHLD) collect(false);
    else if (stop_signal_ == 0) stop_signal_ = sig;  // SIGINT, SIGTERM, SIGHUP
    else kill_now_ = true;  // a second one: no more patience, as the main job
  }
}

void ProcessPool::end_workers() {
  // No more tasks, no more results: a worker blocked writing its results gets EPIPE.
  for (auto& w : workers_) {
    w.alive = false;
    w.task_w.reset();
    w.result_r.reset();
  }
  // Only groups not reaped yet are signalled: a reaped worker's number may belong to another
  // process by now.
  auto unreaped = [&] {
    std::vector<int> v;
    for (int pid : pids_)
      if (!exited_.count(pid)) v.push_back(pid);
    return v;
  };
  core::Terminations terms(o_.termseq);
  for (int pid : unreaped()) terms.start(pid, kill_now_);
  bool killed = kill_now_;
  std::vector<pollfd> pfds;
  // Never blocks for long: exits come as SIGCHLD or from the forkserver's event fd, and the loop
  // looks every 20 ms regardless; the termseq ends with SIGKILL, so it ends.
  while (exited_.size() < started_) {
    if (kill_now_ && !killed) {
      for (int pid : unreaped()) terms.start(pid, true);
      killed = true;
    }
    const double now = monotonic_now();
    terms.advance(now, [](int) {});
    const double due = terms.next_due();
    const int timeout = due > 0 ? std::clamp(static_cast<int>((due - now) * 1000) + 1, 0, 20) : 20;
    pfds.clear();
    if (o_.signals) pfds.push_back({o_.signals->fd(), POLLIN, 0});
    if (launcher_.event_fd() >= 0) pfds.push_back({launcher_.event_fd(), POLLIN, 0});
    ::poll(pfds.data(), pfds.size(), timeout);
    if (o_.signals) on_signals();
    collect(false);
  }
}

void ProcessPool::lose_worker(PoolWorker& w) {
  w.alive = false;
  w.task_w.reset();
  w.result_r.reset();
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

core::BenchRun ProcessPool::run() {
  // A worker that dies leaves its task pipe without a reader: write() must fail with EPIPE, not
  // kill poolrun. (Workers get default signals from every start method.)
  ::signal(SIGPIPE, SIG_IGN);
  res_.runqueue_known = true;  // until a worker is lost without its trailer
  double t0 = monotonic_now();
  workers_.resize(std::max<std::size_t>(1, o_.workers));
  std::size_t alive = 0;
  for (auto& w : workers_) alive += start_worker(w);
  if (alive == 0)
    throw SystemError(std::string("bench: cannot start a worker (") + launcher_.name() + ", " +
                      (last_stage_.empty() ? "pipe" : last_stage_) + "): " + errno_message(last_error_));
  std::vector<pollfd> pfds;
  std::vector<PoolWorker*> owners;
  while (done_ < o_.tasks && stop_signal_ == 0) {
    dispatch();
    pfds.clear();
    owners.clear();
    for (auto& w : workers_) {
      if (!w.alive) continue;
      write_tasks(w);
      pfds.push_back({w.result_r.get(), POLLIN, 0});
      owners.push_back(&w);
      if (!w.out.empty()) {
        pfds.push_back({w.task_w.get(), POLLOUT, 0});
        owners.push_back(&w);
      }
    }
    if (pfds.empty()) {
      // Every worker is gone: start new ones for what is left.
      std::size_t n = 0;
      for (auto& w : workers_) n += start_worker(w);
      if (n == 0) {
        res_.tasks_failed += o_.tasks - done_;
        note_error(std::string("cannot start a worker again (") + launcher_.name() + ", " +
                   (last_stage_.empty() ? "pipe" : last_stage_) + "): " + errno_message(last_error_));
        break;
      }
      continue;
    }
    // A lost worker is reaped as soon as it is a zombie: poll briefly while one is outstanding.
    std::size_t alive_now = 0;
    for (auto& w : workers_) alive_now += w.alive;
    const bool unreaped = exited_.size() + alive_now < started_;
    // Signals, and a forkserver's exit reports, wake the loop too.
    const std::size_t nwork = pfds.size();
    if (o_.signals) pfds.push_back({o_.signals->fd(), POLLIN, 0});
    if (launcher_.event_fd() >= 0) pfds.push_back({launcher_.event_fd(), POLLIN, 0});
    int rc = ::poll(pfds.data(), pfds.size(), unreaped ? 20 : -1);
    if (unreaped) collect(false);
    if (rc < 0 && errno == EINTR) continue;
    for (std::size_t i = nwork; i < pfds.size(); ++i) {
      if (pfds[i].revents == 0) continue;
      if (o_.signals && pfds[i].fd == o_.signals->fd()) on_signals();
      else collect(false);
    }
    if (stop_signal_ != 0) break;
    for (std::size_t i = 0; i < nwork; ++i) {
      PoolWorker& w = *owners[i];
      if (!w.alive || pfds[i].revents == 0) continue;
      if (pfds[i].events == POLLOUT) {
        write_tasks(w);
        continue;
      }
      if (!read_results(w)) {
        lose_worker(w);
        collect(false);
        // A replacement, as Pool does, when there is work left.
        if (done_ < o_.tasks) start_worker(w);
      }
    }
  }
  if (stop_signal_ != 0) {
    end_workers();
    res_.stop_signal = stop_signal_;
    res_.wall_s = monotonic_now() - t0;
    return res_;
  }
  // Close the pool: EOF on every task pipe ends the workers; reap every one we started.
  for (auto& w : workers_) {
    w.task_w.reset();
  }
  for (auto& w : workers_) {
    if (!w.alive) continue;
    // Drain to EOF so a worker never blocks writing (nothing should be left).
    // What is left is the worker's trailer (its run-queue wait).
    set_nonblocking(w.result_r.get(), false);
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(w.result_r.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      w.in.append(buf, static_cast<size_t>(n));
    }
    Trailer t = {};
    if (w.in.size() == sizeof t) memcpy(&t, w.in.data(), sizeof t);
    if (t.magic == kTrailerMagic && t.runqueue_ns >= 0) res_.runqueue_s += static_cast<double>(t.runqueue_ns) / 1e9;
    else res_.runqueue_known = false;
    w.result_r.reset();
  }
  while (exited_.size() < started_) collect(true);
  res_.wall_s = monotonic_now() - t0;
  return res_;
}

// ---------------------------------------------------------------------------------------------
// Threads and serial

struct CpuMark {
  double user, sys, wall;
  static CpuMark now() {
    CpuMark m;
    self_cpu(m.user, m.sys);
    m.wall = monotonic_now();
    return m;
  }
};

void finish(core::BenchRun& r, const CpuMark& a) {
  CpuMark b = CpuMark::now();
  r.wall_s = b.wall - a.wall;
  r.user_s = b.user - a.user;
  r.sys_s = b.sys - a.sys;
}

/// Runs `body` (a whole thread or serial run) in a thread of its own while the calling thread
/// waits for its end or for a signal on `signals` (SIGINT, SIGTERM, SIGHUP; SIGCHLD is dropped):
/// the first sets g_stop, which the tasks and the loops that hand them out look at, and `body`
/// ends early. Returns that signal, or 0. Without `signals`, runs `body` in the calling thread.
/// An exception from `body` is rethrown here.
int run_watched(SignalEvents* signals, const std::function<void()>& body) {
  g_stop.store(false);
  if (!signals) {
    body();
    return 0;
  }
  Pipe done;
  if (auto ec = make_pipe(done)) throw SystemError("bench: cannot create a pipe: " + ec.message());
  std::exception_ptr error;
  std::thread runner([&] {
    try {
      body();
    } catch (...) {
      error = std::current_exception();
    }
    done.write.reset();  // EOF: the run is over
  });
  int stop = 0;
  std::vector<int> sigs;
  for (;;) {
    pollfd p[2] = {{done.read.get(), POLLIN, 0}, {signals->fd(), POLLIN, 0}};
    if (::poll(p, 2, -1) < 0) continue;  // EINTR
    if (p[1].revents != 0) {
      sigs.clear();
      signals->drain(sigs);
      for (int s : sigs)
        if (s != SIGCHLD && stop == 0) {
          stop = s;
          g_stop.store(true);
        }
    }
    if (p[0].revents != 0) break;
  }
  runner.join();
  g_stop.store(false);
  if (error) std::rethrow_exception(error);
  return stop;
}

}  // namespace

core::BenchRun run_process_pool(const PoolOptions& o, Launcher& launcher) {
  ProcessPool pool(o, launcher);
  return pool.run();
}

core::BenchRun run_thread_pool(const PoolOptions& o) {
  WorkerConfig cfg = make_config(o.task, o.gil);
  core::BenchRun r;
  const uint64_t cs = o.sync ? 1 : std::max<std::size_t>(1, o.chunksize);
  std::atomic<uint64_t> next{0};
  std::atomic<uint64_t> sum{0};
  std::atomic<uint64_t> failed{0};
  std::atomic<int> first_err{0};
  // --submit sync: the caller hands out one task and waits for its result before the next.
  std::mutex m;
  std::condition_variable cv;
  uint64_t posted = 0, taken = 0, finished = 0;
  bool closing = false;
  std::atomic<int64_t> rq_ns{0};
  std::atomic<bool> rq_unknown{false};
  auto note = [&](int err) {
    int none = 0;
    if (err != 0) first_err.compare_exchange_strong(none, err);
    return err != 0;
  };
  auto worker = [&] {
    uint64_t local = 0;
    uint64_t nf = 0;
    if (o.sync) {
      for (;;) {
        uint64_t item;
        {
          std::unique_lock lk(m);
          cv.wait(lk, [&] { return closing || taken < posted; });
          if (taken >= posted) break;
          item = taken++;
        }
        int err;
        int64_t v = run_task(cfg, item, err);
        local += static_cast<uint64_t>(v);
        nf += note(err);
        {
          std::lock_guard lk(m);
          ++finished;
        }
        cv.notify_all();
      }
    } else {
      while (!stop_requested()) {
        uint64_t first = next.fetch_add(cs);
        if (first >= o.tasks) break;
        uint64_t end = std::min<uint64_t>(first + cs, o.tasks);
        for (uint64_t i = first; i < end && !stop_requested(); ++i) {
          int err;
          local += static_cast<uint64_t>(run_task(cfg, i, err));
          nf += note(err);
        }
      }
    }
    sum += local;
    failed += nf;
    int64_t rq = runqueue_wait_ns();  // this thread's whole life: it started with the run
    if (rq < 0) rq_unknown = true;
    else rq_ns += rq;
  };
  r.stop_signal = run_watched(o.signals, [&] {
    CpuMark a = CpuMark::now();
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < std::max<std::size_t>(1, o.workers); ++i) threads.emplace_back(worker);
    if (o.sync) {
      for (uint64_t i = 0; i < o.tasks && !stop_requested(); ++i) {
        std::unique_lock lk(m);
        ++posted;
        cv.notify_all();
        cv.wait(lk, [&] { return finished == posted; });
      }
      {
        std::lock_guard lk(m);
        closing = true;
      }
      cv.notify_all();
    }
    for (auto& t : threads) t.join();
    finish(r, a);
  });
  r.checksum = sum;
  r.tasks_failed = failed;
  if (first_err.load() != 0) r.first_error = o.task.spec + ": " + errno_message(first_err.load());
  r.runqueue_known = !rq_unknown;
  r.runqueue_s = static_cast<double>(rq_ns.load()) / 1e9;
  return r;
}

core::BenchRun run_serial(const PoolOptions& o) {
  WorkerConfig cfg = make_config(o.task, o.gil);
  core::BenchRun r;
  int first_err = 0;
  r.stop_signal = run_watched(o.signals, [&] {
    // In the thread that runs the tasks: the run-queue wait is that thread's.
    const int64_t rq0 = runqueue_wait_ns();
    CpuMark a = CpuMark::now();
    for (uint64_t i = 0; i < o.tasks && !stop_requested(); ++i) {
      int err;
      r.checksum += static_cast<uint64_t>(run_task(cfg, i, err));
      if (err != 0 && r.tasks_failed++ == 0) first_err = err;
    }
    finish(r, a);
    const int64_t rq1 = runqueue_wait_ns();
    r.runqueue_known = rq0 >= 0 && rq1 >= 0;
    r.runqueue_s = r.runqueue_known ? static_cast<double>(rq1 - rq0) / 1e9 : 0;
  });
  if (first_err != 0) r.first_error = o.task.spec + ": " + errno_message(first_err);
  return r;
}

int take_stop_signal(SignalEvents& signals) {
  std::vector<int> sigs;
  signals.drain(sigs);
  for (int s : sigs)
    if (s != SIGCHLD) return s;
  return 0;
}

int silence_stdout() {
  int saved = ::fcntl(1, F_DUPFD_CLOEXEC, 3);
  std::error_code ec;
  UniqueFd null = open_dev_null(ec);
  if (saved >= 0 && null) ::dup2(null.get(), 1);
  return saved;
}

void restore_stdout(int saved) {
  if (saved < 0) return;
  ::dup2(saved, 1);
  ::close(saved);
}

void children_cpu(double& user_s, double& sys_s) {
  struct rusage ru = {};
  ::getrusage(RUSAGE_CHILDREN, &ru);
  user_s = tv_s(ru.ru_utime);
  sys_s = tv_s(ru.ru_stime);
}

}  // namespace poolrun::platform
