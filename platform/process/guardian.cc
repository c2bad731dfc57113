#include "platform/process/guardian.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <dirent.h>
#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

namespace poolrun::platform {
namespace {

/// The shared mapping: this header, then the table of process groups (at kTableOffset bytes).
struct SharedHeader {
  /// While poolrun starts a job: the time it began, in clock ticks since boot (as the starttime
  /// field of /proc/PID/stat) minus one; 0 otherwise.
  long long launch_since;
  /// Set by poolrun as it ends normally: it has cleaned up itself; the guardian just exits.
  int goodbye;
};
constexpr std::size_t kTableOffset = 64;
static_assert(sizeof(SharedHeader) <= kTableOffset);

/// Clock ticks since boot, as /proc/PID/stat counts a process's start time.
long long boot_ticks() {
  struct timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  static const long hz = sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100;
  return static_cast<long long>(ts.tv_sec) * hz + static_cast<long long>(ts.tv_nsec) / (1000000000LL / hz);
}

/// Process groups that may be the job poolrun was starting when it died: its pid is unknown (the
/// launch had not returned), so the guardian looks for a process that leads its own group, in
/// poolrun's session, whose parent is poolrun or — poolrun gone — whoever adopted poolrun's
/// children (the guardian's own parent now), and that started no earlier than the launch.
void find_launching(long long since, pid_t poolrun, std::set<int>& out) {
  DIR* d = opendir("/proc");
  if (!d) return;
  const pid_t self = getpid(), session = getsid(0), adopter = getppid();
  while (struct dirent* e = readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end != '\0' || pid == self) continue;
    char path[64], buf[1024];
    std::snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) continue;
    buf[n] = '\0';
    const char* p = std::strrchr(buf, ')');  // the command name may hold spaces and parentheses
    if (!p) continue;
    // Fields from the state on: state ppid pgrp session tty tpgid flags minflt cminflt majflt
    // cmajflt utime stime cutime cstime priority nice threads itrealvalue starttime.
    char state;
    long ppid, pgrp, sid;
    unsigned long long start = 0;
    if (std::sscanf(p + 1, " %c %ld %ld %ld %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
                    &state, &ppid, &pgrp, &sid, &start) != 5)
      continue;
    if (pgrp != pid || sid != session || state == 'Z') continue;
    if (ppid != poolrun && ppid != adopter) continue;
    if (static_cast<long long>(start) < since) continue;
    out.insert(static_cast<int>(pid));
  }
  closedir(d);
}

// Runs in the forked guardian. poolrun has no threads yet, so ordinary code is safe here.
[[noreturn]] void guardian_main(int rfd, const SharedHeader* header, const int* table, std::size_t slots,
                               pid_t poolrun) {
  setpgid(0, 0);  // out of the terminal's foreground group: Ctrl-C is poolrun's to handle
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE}) signal(s, SIG_IGN);
  int null = open("/dev/null", O_RDWR);
  for (int fd = 0; fd < 3; ++fd)
    if (null >= 0 && null != fd) dup2(null, fd);
  // Close everything else poolrun had open (its stdout pipe, report files), except our pipe.
  for (int fd = 3; fd < rfd; ++fd) close(fd);
  syscall(SYS_close_range, rfd + 1, ~0U, 0);
  std::set<int> groups;
  int buf[1024];
  std::size_t have = 0;  // bytes in buf
  // Reads every message waiting in the pipe. Returns false at EOF (poolrun's end is closed).
  auto drain = [&]() -> bool {
    for (;;) {
      ssize_t n = read(rfd, reinterpret_cast<char*>(buf) + have, sizeof buf - have);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno == EAGAIN;
      if (n == 0) return false;
      have += static_cast<std::size_t>(n);
      std::size_t whole = have / sizeof(int);
      for (std::size_t i = 0; i < whole; ++i) {
        int v = buf[i];
        if (v == 0) _exit(0);  // goodbye: poolrun ended normally and cleaned up itself
        if (v > 0) groups.insert(v);
        else groups.erase(-v);
      }
      std::size_t rest = have - whole * sizeof(int);
      if (rest) memmove(buf, reinterpret_cast<char*>(buf) + whole * sizeof(int), rest);
      have = rest;
    }
  };
  // Messages are read in batches, not as they arrive: poll() asks for no event, so it wakes only on
  // POLLHUP (poolrun's end closed: it exited or died) or at the timeout, when the batch is read.
  // A wake-up per message would cost poolrun a context switch per job. The pipe holds 16 384
  // messages, so a run starting more than ~160 000 jobs/s could briefly wait in write().
  fcntl(rfd, F_SETFL, fcntl(rfd, F_GETFL) | O_NONBLOCK);
  // With the shared mapping, the guardian waits on a pidfd of poolrun: it wakes when poolrun has
  // exited, not when poolrun's fds close during its exit (the pipe's POLLHUP), where it would
  // compete with the rest of poolrun's exit for a CPU; a normal end is told by `goodbye`.
  const int pidfd = header ? static_cast<int>(syscall(SYS_pidfd_open, poolrun, 0)) : -1;
  for (;;) {
    struct pollfd pfd = pidfd >= 0 ? pollfd{pidfd, POLLIN, 0} : pollfd{rfd, 0, 0};
    int rc = poll(&pfd, 1, 100);
    if (rc < 0 && errno != EINTR) break;
    if (!drain()) break;
    if (pidfd >= 0 && (rc > 0 || getppid() != poolrun)) break;  // exited (or before pidfd_open)
  }
  if (header && __atomic_load_n(&header->goodbye, __ATOMIC_ACQUIRE)) _exit(0);
  // poolrun is gone without a goodbye: every group still in the table is running too.
  if (table)
    for (std::size_t i = 0; i < slots; ++i)
      if (int g = __atomic_load_n(&table[i], __ATOMIC_ACQUIRE); g > 0) groups.insert(g);
  // A job being started at that instant: look for it a few times while its exec completes.
  const long long since = header ? __atomic_load_n(&header->launch_since, __ATOMIC_ACQUIRE) : 0;
  if (since > 0) find_launching(since, poolrun, groups);
  for (int g : groups) kill(-g, SIGTERM);
  for (int i = 0; i < 50; ++i) {
    if (since > 0 && i < 10) {
      std::set<int> more;
      find_launching(since, poolrun, more);
      for (int g : more)
        if (groups.insert(g).second) kill(-g, SIGTERM);
    }
    bool any = false;
    for (int g : groups) any = any || kill(-g, 0) == 0;
    if (!any) _exit(0);
    poll(nullptr, 0, 10);
  }
  for (int g : groups) kill(-g, SIGKILL);
  _exit(0);
}

}  // namespace

std::error_code Guardian::prepare() {
  if (pipe_ || pid_ > 0) return {};
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return {errno, std::system_category()};
  if (!shared_) {
    // Without the mapping (mmap refused) every group goes over the pipe.
    void* m = mmap(nullptr, kTableOffset + slots_ * sizeof(int), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m != MAP_FAILED) {
      shared_ = m;
      if (slots_ > 0) table_ = reinterpret_cast<int*>(static_cast<char*>(m) + kTableOffset);
    }
  }
  rpipe_.reset(fds[0]);
  pipe_.reset(fds[1]);
  return {};
}

std::error_code Guardian::start(bool jobs_are_children) {
  if (pid_ > 0) return {};
  find_launching_ = jobs_are_children;
  if (!rpipe_) {
    if (auto ec = prepare()) return ec;
    if (!rpipe_) return std::make_error_code(std::errc::broken_pipe);  // gone: see send()
  }
  const pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    rpipe_.reset();
    pipe_.reset();
    return {e, std::system_category()};
  }
  if (pid == 0) guardian_main(rpipe_.get(), static_cast<const SharedHeader*>(shared_), table_, slots_, parent);
  rpipe_.reset();
  pid_ = pid;
  return {};
}

void Guardian::send(int value) {
  if (!pipe_) return;
  const char* p = reinterpret_cast<const char*>(&value);
  std::size_t left = sizeof value;
  while (left > 0) {
    ssize_t n = write(pipe_.get(), p, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      pipe_.reset();  // the guardian is gone: carry on without it
      rpipe_.reset();
      return;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

void Guardian::watch(int pgid) {
  if (pgid <= 0 || !pipe_) return;
  if (table_) {
    if (where_.count(pgid)) return;  // already known
    std::uint32_t i;
    if (!free_.empty()) {
      i = free_.back();
      free_.pop_back();
    } else if (used_ < slots_) {
      i = static_cast<std::uint32_t>(used_++);
    } else {
      return send(pgid);  // table full: the pipe carries this one
    }
    where_.emplace(pgid, i);
    __atomic_store_n(&table_[i], pgid, __ATOMIC_RELEASE);
    return;
  }
  send(pgid);
}

void Guardian::launching() {
  if (shared_ && pipe_ && find_launching_)
    __atomic_store_n(&static_cast<SharedHeader*>(shared_)->launch_since, boot_ticks() - 1, __ATOMIC_RELEASE);
}

void Guardian::launched() {
  if (shared_) __atomic_store_n(&static_cast<SharedHeader*>(shared_)->launch_since, 0LL, __ATOMIC_RELEASE);
}

void Guardian::unwatch(int pgid) {
  if (pgid <= 0 || !pipe_) return;
  if (auto it = where_.find(pgid); it != where_.end()) {
    __atomic_store_n(&table_[it->second], 0, __ATOMIC_RELEASE);
    free_.push_back(it->second);
    where_.erase(it);
    return;
  }
  send(-pgid);
}

Guardian::~Guardian() {
  if (shared_ && pid_ > 0)
    __atomic_store_n(&static_cast<SharedHeader*>(shared_)->goodbye, 1, __ATOMIC_RELEASE);  // no wake-up
  else
    send(0);
  pipe_.reset();
  if (shared_) munmap(shared_, kTableOffset + slots_ * sizeof(int));
}

}  // namespace poolrun::platform
