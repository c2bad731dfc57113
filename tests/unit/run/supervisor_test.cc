// The supervisor on real processes: every child reported once, termination sequences that end a
// group which ignores SIGTERM, a second SIGINT that kills what runs, and a stdout write that stays
// responsive to signals while its reader does not read.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <chrono>
#include <string>
#include <vector>

#include "core/run/supervisor.h"
#include "platform/fd.h"
#include "platform/process/launchers.h"
#include "platform/system.h"

namespace {

using poolrun::core::ExitStatus;
using poolrun::core::LaunchRequest;
using poolrun::core::Supervisor;
using poolrun::core::TermStep;

LaunchRequest sh(const std::string& script) {
  LaunchRequest r;
  r.path = "/bin/sh";
  r.argv = {"sh", "-c", script};
  return r;
}

/// A policy that launches `scripts` at its first step and records what the supervisor tells it.
struct Recorder : Supervisor::Policy {
  Supervisor& sup;
  std::vector<std::string> scripts;
  std::vector<int> pids;
  std::vector<ExitStatus> exits;
  std::vector<int> interrupts;
  int hangups = 0;
  bool started = false;
  // Called at the first step, after the launches (e.g. to end the children).
  std::function<void(Recorder&)> after_launch;
  // Called at every timer tick.
  std::function<void(Recorder&, double)> tick;

  Recorder(Supervisor& s, std::vector<std::string> sc) : sup(s), scripts(std::move(sc)) {}
  void step() override {
    if (started) return;
    started = true;
    for (const auto& s : scripts) {
      auto res = sup.launch(sh(s));
      REQUIRE(res.ok());
      pids.push_back(res.child.pid);
    }
    if (after_launch) after_launch(*this);
  }
  bool finished() const override { return started && exits.size() == pids.size(); }
  void on_ready(const poolrun::platform::Ready&) override {}
  void on_exit(const ExitStatus& e) override {
    exits.push_back(e);
    sup.release(e.pid);
  }
  void on_interrupt(int sig) override {
    interrupts.push_back(sig);
    for (int p : pids) sup.terminate(p);
  }
  void on_hangup() override { ++hangups; }
  void on_failure(poolrun::core::StopReason, const std::string& m) override { FAIL(m); }
  void on_timers(double now) override {
    if (tick) tick(*this, now);
  }
  double next_deadline(double now) const override { return tick ? now + 0.01 : 0; }
};

/// Processes of process group `pgid` that still run (zombies left to an init that does not reap
/// do not count: they run nothing).
int running_in_group(int pgid) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    std::ifstream in(e.path() / "stat");
    std::string line;
    if (!std::getline(in, line)) continue;
    auto close = line.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(line.substr(close + 2));
    char state;
    int ppid, pgrp;
    if (rest >> state >> ppid >> pgrp && pgrp == pgid && state != 'Z') ++n;
  }
  return n;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

TEST_CASE("supervisor: every child is reported once, with its status", "[supervisor]") {
  auto launcher = poolrun::platform::make_spawn_launcher();
  std::vector<TermStep> termseq = {{SIGTERM, 200}, {SIGKILL, 25}};
  Supervisor sup(*launcher, termseq);
  sup.start(true);
  Recorder r(sup, {"exit 0", "exit 3", "sleep 0.2; exit 7", "kill -9 $$"});
  sup.run(r);
  REQUIRE(r.exits.size() == 4);
  std::vector<int> codes, signals;
  for (const auto& e : r.exits) {
    codes.push_back(e.exit_code);
    signals.push_back(e.signal);
  }
  std::sort(codes.begin(), codes.end());
  CHECK(codes == std::vector<int>{-1, 0, 3, 7});
  CHECK(std::count(signals.begin(), signals.end(), SIGKILL) == 1);
  // Each pid once.
  std::vector<int> seen;
  for (const auto& e : r.exits) seen.push_back(e.pid);
  std::sort(seen.begin(), seen.end());
  CHECK(std::adjacent_find(seen.begin(), seen.end()) == seen.end());
}

TEST_CASE("supervisor: the termseq ends a group that ignores SIGTERM", "[supervisor]") {
  auto launcher = poolrun::platform::make_spawn_launcher();
  std::vector<TermStep> termseq = {{SIGTERM, 100}, {SIGKILL, 25}};
  Supervisor sup(*launcher, termseq);
  sup.start(true);
  Recorder r(sup, {"trap '' TERM; sleep 30 & wait; sleep 30"});
  // Ended once the shell has had time to set its trap (a TERM before it would end it at once).
  double first = 0;
  bool sent = false;
  r.tick = [&](Recorder& self, double now) {
    if (first == 0) first = now;
    if (!sent && now - first > 0.3) {
      sent = true;
      self.sup.terminate(self.pids[0]);
    }
  };
  auto t0 = std::chrono::steady_clock::now();
  sup.run(r);
  CHECK(seconds_since(t0) < 10);  // not the 30 s of the sleep
  REQUIRE(r.exits.size() == 1);
  CHECK(r.exits[0].signal == SIGKILL);
  // The whole group is gone: the background sleep too.
  CHECK(running_in_group(r.pids[0]) == 0);
}

TEST_CASE("supervisor: one SIGINT goes to the policy, a second kills every group", "[supervisor]") {
  auto launcher = poolrun::platform::make_spawn_launcher();
  // A termseq that would take a minute: only the second signal can end the run quickly.
  std::vector<TermStep> termseq = {{SIGTERM, 60000}, {SIGKILL, 25}};
  Supervisor sup(*launcher, termseq);
  sup.start(true);
  Recorder r(sup, {"trap '' TERM; sleep 30", "trap '' TERM; sleep 30"});
  int sent = 0;
  double first = 0;
  r.tick = [&](Recorder&, double now) {
    if (first == 0) first = now;
    // The first SIGINT once the shells have set their traps (300 ms); the second 200 ms later.
    if ((sent == 0 && now - first > 0.3) || (sent == 1 && now - first > 0.5)) {
      ++sent;
      ::raise(SIGINT);
    }
  };
  auto t0 = std::chrono::steady_clock::now();
  sup.run(r);
  CHECK(seconds_since(t0) < 10);
  CHECK(r.interrupts == std::vector<int>{SIGINT});  // the policy hears the first one only
  CHECK(sup.interrupts() == 2);
  REQUIRE(r.exits.size() == 2);
  for (const auto& e : r.exits) CHECK(e.signal == SIGKILL);
}

TEST_CASE("supervisor: a write to a reader that does not read stays deaf to nothing", "[supervisor]") {
  auto launcher = poolrun::platform::make_spawn_launcher();
  std::vector<TermStep> termseq = {{SIGTERM, 200}, {SIGKILL, 25}};
  Supervisor sup(*launcher, termseq);
  sup.start(false);
  poolrun::platform::Pipe p;
  REQUIRE_FALSE(poolrun::platform::make_pipe(p));
  // Nobody reads p.read: a large write blocks until two SIGINTs abandon it.
  struct Quiet : Supervisor::Policy {
    int interrupts = 0;
    void step() override {}
    bool finished() const override { return true; }
    void on_ready(const poolrun::platform::Ready&) override {}
    void on_exit(const ExitStatus&) override {}
    void on_interrupt(int) override { ++interrupts; }
    void on_hangup() override {}
    void on_failure(poolrun::core::StopReason, const std::string&) override {}
    void on_timers(double) override {}
    double next_deadline(double) const override { return 0; }
  } quiet;
  sup.run(quiet);  // finished at once: only registers the policy for the signals below
  // Signals raised before the write are pending on the signalfd: the write sees them while it
  // waits for room, so it must return instead of blocking forever.
  // Two different signals: two of the same kind pending at once would merge into one.
  ::raise(SIGINT);
  ::raise(SIGTERM);
  std::string big(4 << 20, 'x');
  auto t0 = std::chrono::steady_clock::now();
  auto ec = sup.write(p.write.get(), big);
  CHECK_FALSE(ec);
  CHECK(sup.abandoned());
  CHECK(seconds_since(t0) < 10);
}
