#include "platform/guardian.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <set>

namespace poolrun::platform {
namespace {

// Runs in the forked guardian. poolrun has no threads yet, so ordinary code is safe here.
[[noreturn]] void guardian_main(int rfd, const int* table, std::size_t slots) {
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
  for (;;) {
    struct pollfd pfd = {rfd, 0, 0};
    int rc = poll(&pfd, 1, 100);
    if (rc < 0 && errno != EINTR) break;
    if (!drain()) break;
  }
  // poolrun is gone without a goodbye: every group still in the table is running too.
  if (table)
    for (std::size_t i = 0; i < slots; ++i)
      if (int g = __atomic_load_n(&table[i], __ATOMIC_ACQUIRE); g > 0) groups.insert(g);
  for (int g : groups) kill(-g, SIGTERM);
  for (int i = 0; i < 50; ++i) {
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
  if (!table_ && slots_ > 0) {
    // Without the table (mmap refused) every group goes over the pipe.
    void* m = mmap(nullptr, slots_ * sizeof(int), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (m != MAP_FAILED) table_ = static_cast<int*>(m);
  }
  rpipe_.reset(fds[0]);
  pipe_.reset(fds[1]);
  return {};
}

std::error_code Guardian::start() {
  if (pid_ > 0) return {};
  if (!rpipe_) {
    if (auto ec = prepare()) return ec;
    if (!rpipe_) return std::make_error_code(std::errc::broken_pipe);  // gone: see send()
  }
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    rpipe_.reset();
    pipe_.reset();
    return {e, std::system_category()};
  }
  if (pid == 0) guardian_main(rpipe_.get(), table_, slots_);
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
  send(0);
  pipe_.reset();
  if (table_) munmap(table_, slots_ * sizeof(int));
}

}  // namespace poolrun::platform
