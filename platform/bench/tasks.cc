#include "platform/bench/tasks.h"

#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <mutex>

namespace poolrun::platform {

using std::int64_t;
using std::uint64_t;

int64_t now_ns() noexcept {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1000000000 + ts.tv_nsec;
}

namespace {

/// Set when a signal stops the thread or serial executor: tasks running in poolrun's own threads
/// look at it and return early (their results no longer matter). Never set in a worker process,
/// which its termination signal ends instead. Lock-free, so the forked worker may read it.
std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free);

}  // namespace

bool stop_requested() noexcept { return g_stop.load(std::memory_order_relaxed); }
void set_stop(bool stop) noexcept { g_stop.store(stop); }

namespace {

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

}  // namespace

int64_t run_task(const WorkerConfig& c, uint64_t item, int& err) noexcept {
  using Kind = TaskKind;
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


}  // namespace poolrun::platform
