#include "platform/bench/threads.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "platform/fd.h"
#include "platform/system.h"

namespace poolrun::platform {

using std::int64_t;
using std::uint64_t;

namespace {

double tv_s(const struct timeval& tv) { return static_cast<double>(tv.tv_sec) + tv.tv_usec / 1e6; }

void self_cpu(double& user, double& sys) {
  struct rusage ru = {};
  ::getrusage(RUSAGE_SELF, &ru);
  user = tv_s(ru.ru_utime);
  sys = tv_s(ru.ru_stime);
}

struct CpuMark {
  double user, sys, wall;
  static CpuMark now() {
    CpuMark m;
    self_cpu(m.user, m.sys);
    m.wall = monotonic_now();
    return m;
  }
};

void finish(ThreadRun& r, const CpuMark& a) {
  CpuMark b = CpuMark::now();
  r.wall_s = b.wall - a.wall;
  r.user_s = b.user - a.user;
  r.sys_s = b.sys - a.sys;
}

/// Runs `body` (a whole thread or serial run) in a thread of its own while the calling thread
/// waits for its end or for a signal on `signals` (SIGINT, SIGTERM, SIGHUP; SIGCHLD is dropped):
/// the first sets g_stop, which the tasks and the loops that hand them out look at, and `body`
/// ends early. Sets `stop` to that signal, or 0. Without `signals`, runs `body` in the calling
/// thread. An exception from `body` is rethrown here; a pipe that cannot be made is returned.
std::error_code run_watched(SignalEvents* signals, const std::function<void()>& body, int& stop) {
  set_stop(false);
  stop = 0;
  if (!signals) {
    body();
    return {};
  }
  Pipe done;
  if (auto ec = make_pipe(done)) return ec;
  std::exception_ptr error;
  std::thread runner([&] {
    try {
      body();
    } catch (...) {
      error = std::current_exception();
    }
    done.write.reset();  // EOF: the run is over
  });
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
          set_stop(true);
        }
    }
    if (p[0].revents != 0) break;
  }
  runner.join();
  set_stop(false);
  if (error) std::rethrow_exception(error);
  return {};
}

}  // namespace

std::error_code run_thread_pool(const ThreadRunOptions& o, ThreadRun& r) {
  const WorkerConfig& cfg = *o.task;
  r = ThreadRun();
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
  std::error_code ec = run_watched(o.signals, [&] {
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
  }, r.stop_signal);
  r.checksum = sum;
  r.tasks_failed = failed;
  r.first_errno = first_err.load();
  r.runqueue_known = !rq_unknown;
  r.runqueue_s = static_cast<double>(rq_ns.load()) / 1e9;
  return ec;
}

std::error_code run_serial(const ThreadRunOptions& o, ThreadRun& r) {
  const WorkerConfig& cfg = *o.task;
  r = ThreadRun();
  std::error_code ec = run_watched(o.signals, [&] {
    // In the thread that runs the tasks: the run-queue wait is that thread's.
    const int64_t rq0 = runqueue_wait_ns();
    CpuMark a = CpuMark::now();
    for (uint64_t i = 0; i < o.tasks && !stop_requested(); ++i) {
      int err;
      r.checksum += static_cast<uint64_t>(run_task(cfg, i, err));
      if (err != 0 && r.tasks_failed++ == 0) r.first_errno = err;
    }
    finish(r, a);
    const int64_t rq1 = runqueue_wait_ns();
    r.runqueue_known = rq0 >= 0 && rq1 >= 0;
    r.runqueue_s = r.runqueue_known ? static_cast<double>(rq1 - rq0) / 1e9 : 0;
  }, r.stop_signal);
  return ec;
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

