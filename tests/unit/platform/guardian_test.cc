// The guardian (platform/process/guardian.h) on real processes: a stand-in for poolrun starts sleepers in
// process groups of their own, tells its guardian about them, and dies by SIGKILL. The groups it
// still ran must be ended; the ones it had unwatched must not be. Both ways the guardian learns of
// groups are covered: the shared table, and the pipe once the table is full.
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "platform/process/guardian.h"

extern char** environ;

namespace {

using poolrun::platform::Guardian;

pid_t spawn_sleeper() {
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  char* argv[] = {const_cast<char*>("sleep"), const_cast<char*>("30"), nullptr};
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, "sleep", nullptr, &attr, argv, environ);
  posix_spawnattr_destroy(&attr);
  return rc == 0 ? pid : -1;
}

/// Waits up to `limit` for `pid` (a child of this process) to end; returns its wait status or -1.
int wait_for(pid_t pid, std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 || std::chrono::steady_clock::now() > until) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

/// Runs the scenario with a table of `table_slots` entries: `watched` sleepers stay watched,
/// `unwatched` are watched then unwatched; the stand-in is then killed. Sleepers become this
/// process's children (it is made their subreaper), so their end can be waited for and seen.
/// With `clean_end`, the stand-in ends normally instead (its Guardian says goodbye): then nothing may
/// be ended.
void scenario(std::size_t table_slots, int watched, int unwatched, bool clean_end = false) {
  REQUIRE(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0);
  int report[2];
  REQUIRE(pipe(report) == 0);
  pid_t stand_in = fork();
  REQUIRE(stand_in >= 0);
  if (stand_in == 0) {
    close(report[0]);
    auto g = std::make_unique<Guardian>(table_slots);
    if (g->start()) _exit(3);
    std::vector<pid_t> pids;
    for (int i = 0; i < watched + unwatched; ++i) {
      pid_t p = spawn_sleeper();
      if (p < 0) _exit(4);
      g->watch(p);
      pids.push_back(p);
    }
    for (int i = watched; i < watched + unwatched; ++i) g->unwatch(pids[static_cast<std::size_t>(i)]);
    if (write(report[1], pids.data(), pids.size() * sizeof(pid_t)) < 0) _exit(5);
    close(report[1]);
    if (clean_end) {
      g.reset();  // goodbye
      _exit(0);
    }
    raise(SIGKILL);  // dies without the guardian's goodbye, as poolrun killed with kill -9
    _exit(6);
  }
  close(report[1]);
  std::vector<pid_t> pids(static_cast<std::size_t>(watched + unwatched));
  std::size_t got = 0;
  while (got < pids.size() * sizeof(pid_t)) {
    ssize_t n = read(report[0], reinterpret_cast<char*>(pids.data()) + got, pids.size() * sizeof(pid_t) - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  close(report[0]);
  int status = 0;
  REQUIRE(waitpid(stand_in, &status, 0) == stand_in);
  REQUIRE(got == pids.size() * sizeof(pid_t));
  REQUIRE(WIFSIGNALED(status) != clean_end);
  // Sleepers [from, to) must still run (given the guardian time to act wrongly); then ended here.
  auto expect_alive = [&](int from, int to) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    for (int i = from; i < to; ++i) {
      INFO("sleeper " << i << " of " << watched << " watched, " << unwatched << " unwatched, clean end " << clean_end);
      pid_t p = pids[static_cast<std::size_t>(i)];
      int st = 0;
      CHECK(waitpid(p, &st, WNOHANG) == 0);
      kill(p, SIGKILL);
      waitpid(p, &st, 0);
    }
  };
  if (clean_end) expect_alive(0, watched + unwatched);
  for (int i = 0; i < watched && !clean_end; ++i) {
    INFO("watched sleeper " << i);
    pid_t p = pids[static_cast<std::size_t>(i)];
    int st = wait_for(p, std::chrono::seconds(5));
    CHECK(st != -1);
    CHECK((st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM));
    if (st == -1) {  // not ended: do not leave it behind
      kill(p, SIGKILL);
      waitpid(p, &st, 0);
    }
  }
  if (!clean_end) expect_alive(watched, watched + unwatched);  // the unwatched ones live on
  // The guardian itself was reparented here too: reap it.
  while (waitpid(-1, &status, WNOHANG) > 0) {
  }
  prctl(PR_SET_CHILD_SUBREAPER, 0);
}

}  // namespace

TEST_CASE("guardian: ends the groups in its shared table when poolrun is killed", "[guardian]") {
  scenario(Guardian::kTableSlots, 3, 2);
}

TEST_CASE("guardian: a full table sends the rest over the pipe", "[guardian]") {
  scenario(2, 4, 2);  // two groups in the table, the others (watch and unwatch) by message
}

TEST_CASE("guardian: after a goodbye it ends nothing", "[guardian]") {
  scenario(Guardian::kTableSlots, 3, 1, true);
}
