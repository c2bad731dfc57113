// The engine's scheduling driven by a fake launcher, as ninja's build tests drive its builder with
// a fake CommandRunner: no process is started. The fake records every launch request, writes the
// job's item to the job's stdout pipe (the engine's real pipes: they are the engine's, the fake
// only borrows the write end during launch()), and reports exits one at a time through its
// event_fd(), in the order the test picks. What is checked: job slots never exceed -j, -k output
// in input order although jobs end out of order, --halt now,fail=1 stops launching, --retries.
// The engine runs on its real Supervisor (event loop, signalfd, guardian) with real pipes; only
// processes are faked, through the Launcher interface (platform/process/launcher.h) whose exits
// come from event_fd(), as the forkserver's do. Fake pids are far above pid_max, so the
// termination sequence's kill(-pgid) of a --halt now reaches no process.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/run/config.h"
#include "core/run/engine.h"
#include "platform/fd.h"
#include "platform/process/launcher.h"

namespace {

using poolrun::core::RunConfig;
using poolrun::platform::ExitStatus;
using poolrun::platform::LaunchRequest;
using poolrun::platform::LaunchResult;

class FakeLauncher final : public poolrun::platform::Launcher {
 public:
  /// The exit code of the `attempt`-th launch (1-based) of `item` (argv[1]).
  std::function<int(const std::string& item, int attempt)> exit_code = [](const std::string&, int) { return 0; };
  /// Which running job ends next: an index into the running jobs, oldest first.
  std::function<std::size_t(std::size_t running)> pick = [](std::size_t) { return std::size_t{0}; };

  std::vector<std::string> events;  // "L item" per launch, "X item" per exit reported
  std::size_t max_running = 0;

  FakeLauncher() { REQUIRE_FALSE(poolrun::platform::make_pipe(wake_, true)); }

  const char* name() const override { return "fake"; }

  LaunchResult launch(const LaunchRequest& req) override {
    REQUIRE(req.argv.size() >= 2);
    // The job's item: argv[1] when the engine execs `echo ITEM` directly, else the last word of
    // the line it gives the shell (`sh -c 'echo ITEM'`).
    std::string item = req.argv.back();
    if (req.argv[1] == "-c") item = item.substr(item.rfind(' ') + 1);
    int attempt = ++attempts_[item];
    events.push_back("L " + item);
    if (req.stdout_fd >= 0) poolrun::platform::write_all(req.stdout_fd, item + "\n");
    Job j;
    j.pid = next_pid_++;
    j.item = item;
    j.code = exit_code(item, attempt);
    running_.push_back(j);
    max_running = std::max(max_running, running_.size());
    wake();
    return LaunchResult::started(j.pid);
  }

  int event_fd() const override { return wake_.read.get(); }

  // One exit per call: the engine refills the freed slot before it hears of the next one.
  void collect(std::vector<ExitStatus>& out) override {
    char buf[64];
    while (poolrun::platform::read_some(wake_.read.get(), buf, sizeof buf) > 0) {
    }
    if (running_.empty()) return;
    std::size_t i = pick(running_.size());
    REQUIRE(i < running_.size());
    Job j = running_[i];
    running_.erase(running_.begin() + static_cast<long>(i));
    events.push_back("X " + j.item);
    out.push_back(ExitStatus::of(j.pid, poolrun::platform::ChildState::exited(j.code)));
    if (!running_.empty()) wake();
  }

  void collect_blocking(std::vector<ExitStatus>& out) override { collect(out); }

 private:
  struct Job {
    int pid;
    std::string item;
    int code;
  };
  void wake() { poolrun::platform::write_all(wake_.write.get(), "x"); }

  poolrun::platform::Pipe wake_;
  std::vector<Job> running_;
  std::map<std::string, int> attempts_;
  int next_pid_ = 1 << 30;  // no process has such a pid (pid_max is at most 2^22)
};

RunConfig items(std::size_t n) {
  RunConfig cfg;
  cfg.command = {"echo"};  // resolved on PATH, exec'd directly: argv = {"echo", item}
  poolrun::core::InputSource src;
  src.kind = poolrun::core::InputSource::Kind::List;
  for (std::size_t i = 1; i <= n; ++i) src.values.push_back(std::to_string(i));
  cfg.sources.push_back(src);
  return cfg;
}

/// Runs `cfg` through `fake` with poolrun's stdout captured; returns (exit status, stdout).
std::pair<int, std::string> run(const RunConfig& cfg, FakeLauncher& fake) {
  char path[] = "/tmp/poolrun-fake-launcher-XXXXXX";
  int fd = mkostemp(path, O_CLOEXEC);
  REQUIRE(fd >= 0);
  unlink(path);
  fflush(stdout);
  int saved = dup(1);
  dup2(fd, 1);
  int rc = poolrun::core::run_main_job(cfg, fake);
  dup2(saved, 1);
  close(saved);
  lseek(fd, 0, SEEK_SET);
  std::string out;
  poolrun::platform::read_file(fd, out);
  close(fd);
  return {rc, out};
}

std::string lines(std::size_t from, std::size_t to) {
  std::string s;
  for (std::size_t i = from; i <= to; ++i) s += std::to_string(i) + "\n";
  return s;
}

}  // namespace

TEST_CASE("fake launcher: job slots are filled to -j and never exceeded", "[engine][fake]") {
  for (std::size_t j : {1, 3, 8}) {
    FakeLauncher fake;
    RunConfig cfg = items(20);
    cfg.jobs = j;
    auto [rc, out] = run(cfg, fake);
    CHECK(rc == 0);
    CHECK(fake.max_running == j);
    CHECK(std::count_if(fake.events.begin(), fake.events.end(), [](auto& e) { return e[0] == 'L'; }) == 20);
  }
}

TEST_CASE("fake launcher: -k prints in input order although jobs end newest first", "[engine][fake]") {
  FakeLauncher fake;
  fake.pick = [](std::size_t running) { return running - 1; };  // the newest job ends first
  RunConfig cfg = items(12);
  cfg.jobs = 4;
  SECTION("without -k: output in the order jobs ended") {
    auto [rc, out] = run(cfg, fake);
    CHECK(rc == 0);
    CHECK(out != lines(1, 12));
    std::string ended;
    for (const auto& e : fake.events)
      if (e[0] == 'X') ended += e.substr(2) + "\n";
    CHECK(out == ended);
  }
  SECTION("with -k: input order") {
    cfg.keep_order = true;
    auto [rc, out] = run(cfg, fake);
    CHECK(rc == 0);
    CHECK(out == lines(1, 12));
  }
}

TEST_CASE("fake launcher: --halt now,fail=1 launches nothing after the failure", "[engine][fake]") {
  FakeLauncher fake;
  fake.exit_code = [](const std::string& item, int) { return item == "5" ? 7 : 0; };
  RunConfig cfg = items(30);
  cfg.jobs = 3;
  cfg.halt.when = poolrun::core::HaltPolicy::When::Now;
  cfg.halt.why = poolrun::core::HaltPolicy::Why::Fail;
  cfg.halt.count = 1;
  auto [rc, out] = run(cfg, fake);
  CHECK(rc == 7);  // as GNU parallel: the failing job's status
  auto failed = std::find(fake.events.begin(), fake.events.end(), "X 5");
  REQUIRE(failed != fake.events.end());
  for (auto it = failed; it != fake.events.end(); ++it) CHECK((*it)[0] != 'L');
  CHECK(std::count(fake.events.begin(), fake.events.end(), "L 30") == 0);
}

TEST_CASE("fake launcher: --retries runs a failing job again, up to its attempts", "[engine][fake]") {
  FakeLauncher fake;
  // Odd items succeed at their second attempt; "4" never does.
  fake.exit_code = [](const std::string& item, int attempt) {
    if (item == "4") return 1;
    return std::stoi(item) % 2 == 1 && attempt < 2 ? 1 : 0;
  };
  RunConfig cfg = items(6);
  cfg.jobs = 2;
  cfg.retries = 3;
  cfg.keep_order = true;
  auto [rc, out] = run(cfg, fake);
  CHECK(rc == 1);  // one job failed every attempt
  std::map<std::string, int> launched;
  for (const auto& e : fake.events)
    if (e[0] == 'L') ++launched[e.substr(2)];
  CHECK(launched == std::map<std::string, int>{{"1", 2}, {"2", 1}, {"3", 2}, {"4", 3}, {"5", 2}, {"6", 1}});
  CHECK(out == lines(1, 6));  // each job's output once: its last attempt's
}
