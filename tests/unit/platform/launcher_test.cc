// The launcher contract (platform/process/launcher.h), checked on real processes for every start method:
// only fds 0..2 reach the child, default signal state, own process group, exec failures as errno,
// exit statuses with rusage, many concurrent children, the forkserver's clean-up, fork safety.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include "platform/process/launcher.h"
#include "platform/fd.h"
#include "platform/process/builtin.h"
#include "platform/process/launchers.h"
#include "platform/process/builtin.h"
#include "platform/process/launchers.h"
#include "platform/system.h"

extern char** environ;

namespace {

using namespace poolrun;
using platform::StartMethod;
using Clock = std::chrono::steady_clock;

std::unique_ptr<platform::Launcher> make(StartMethod m) {
  std::error_code ec;
  auto l = platform::make_launcher(m, ec);
  INFO("make_launcher: " << ec.message());
  REQUIRE(l);
  REQUIRE(std::string(l->name()) == platform::start_method_name(m));
  return l;
}

platform::LaunchRequest sh(const std::string& script) {
  platform::LaunchRequest r;
  r.path = "/bin/sh";
  r.argv = {"sh", "-c", script};
  return r;
}

platform::LaunchRequest cmd(const std::string& name, std::vector<std::string> args = {}) {
  platform::LaunchRequest r;
  r.path = platform::resolve_executable(name);
  REQUIRE(!r.path.empty());
  r.argv = {name};
  r.argv.insert(r.argv.end(), args.begin(), args.end());
  return r;
}

std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    long n = platform::read_some(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

/// Collects (blocking) until `pid` is reported; other reports are appended to `others`.
platform::ExitStatus wait_for(platform::Launcher& l, int pid, std::vector<platform::ExitStatus>* others = nullptr) {
  for (;;) {
    std::vector<platform::ExitStatus> v;
    l.collect_blocking(v);
    REQUIRE(!v.empty());  // nothing to wait for would mean the child was lost
    platform::ExitStatus found;
    for (const auto& e : v) {
      if (e.pid == pid)
        found = e;
      else if (others)
        others->push_back(e);
    }
    if (found.pid == pid) return found;
  }
}

struct Run {
  platform::LaunchResult res;
  std::string out;
  platform::ExitStatus st;
};

/// Launches `req` with stdout to a pipe, reads it to EOF and waits for the exit.
Run run(platform::Launcher& l, platform::LaunchRequest req) {
  platform::Pipe p;
  REQUIRE(!platform::make_pipe(p));
  req.stdout_fd = p.write.get();
  Run r;
  r.res = l.launch(req);
  p.write.reset();
  if (!r.res.ok()) return r;
  r.out = read_all(p.read.get());
  r.st = wait_for(l, r.res.child.pid);
  return r;
}

/// This process's open fds (without the one reading the directory).
std::vector<int> own_fds() {
  std::vector<int> fds;
  DIR* d = ::opendir("/proc/self/fd");
  REQUIRE(d != nullptr);
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    int fd = std::atoi(e->d_name);
    if (fd != ::dirfd(d)) fds.push_back(fd);
  }
  ::closedir(d);
  std::sort(fds.begin(), fds.end());
  return fds;
}

/// A process that exists and is not a zombie.
bool alive(int pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return false;
  auto rp = line.rfind(')');
  return rp != std::string::npos && rp + 2 < line.size() && line[rp + 2] != 'Z';
}

/// Field `n` (1-based, as in proc(5)) of /proc/<pid>/stat-formatted text.
long stat_field(const std::string& stat, int n) {
  auto rp = stat.rfind(')');
  std::istringstream in(stat.substr(rp + 2));
  std::string tok;
  for (int i = 3; i <= n; ++i) in >> tok;
  return std::stol(tok);
}

/// Live (non-zombie) members of process group `pgid`, found through /proc.
std::vector<int> group_members(int pgid) {
  std::vector<int> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::ifstream f(e.path() / "stat");
    std::string s;
    if (!std::getline(f, s)) continue;
    if (stat_field(s, 5) == pgid && alive(std::stoi(name))) out.push_back(std::stoi(name));
  }
  return out;
}

/// Polls `pred` every 10 ms until it holds or `limit` passes. Returns its last value.
template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit) {
  const auto end = Clock::now() + limit;
  for (;;) {
    if (pred()) return true;
    if (Clock::now() >= end) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string status_field(const std::string& status, const std::string& key) {
  std::istringstream in(status);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) {
      auto v = line.substr(key.size() + 1);
      v.erase(0, v.find_first_not_of(" \t"));
      return v;
    }
  return "";
}

/// A private scratch directory, removed at the end.
struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/poolrun-launcher-test-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string file(const std::string& name, const std::string& content, mode_t mode) const {
    std::string p = path + "/" + name;
    {
      std::ofstream f(p);
      f << content;
    }
    ::chmod(p.c_str(), mode);
    return p;
  }
};

#if defined(__SANITIZE_THREAD__) || (defined(__has_feature) && __has_feature(thread_sanitizer))
// ThreadSanitizer cannot follow the forkserver, whose jobs start with clone(CLONE_VM|CLONE_VFORK)
// in a process that is a bare fork of the test; the TSan build checks spawn and fork.
#define POOLRUN_TSAN_BUILD 1
#define ALL_METHODS GENERATE(StartMethod::Spawn, StartMethod::Fork)
#else
#define ALL_METHODS GENERATE(StartMethod::Spawn, StartMethod::Fork, StartMethod::Forkserver)
#endif

}  // namespace

TEST_CASE("launcher: the child gets only fds 0, 1, 2", "[launcher]") {
  const StartMethod method = ALL_METHODS;
  INFO("start method: " << platform::start_method_name(method));
  // Whatever started this test binary may have leaked inheritable fds into it (poolrun's fds are
  // close-on-exec from birth; inherited ones are not poolrun's). Mark them close-on-exec so the
  // check below is about the launcher alone.
  ::syscall(SYS_close_range, 3U, ~0U, 4U /* CLOSE_RANGE_CLOEXEC */);
  auto l = make(method);
  const auto before = own_fds();

  // Exec failures first: they must not leave an fd behind, here or in later children.
  for (const char* bad : {"/nonexistent/poolrun-test", "/"}) {
    platform::LaunchRequest req = sh("");
    req.path = bad;
    CHECK(!l->launch(req).ok());
  }
  platform::LaunchRequest badcwd = sh("true");
  badcwd.cwd = "/nonexistent/poolrun-test";
  CHECK(!l->launch(badcwd).ok());

  // The child's own view. ls opens /proc/self/fd itself; that one entry points at the directory.
  Run r = run(*l, sh("exec ls -l /proc/self/fd"));
  REQUIRE(r.res.ok());
  CHECK(r.st.exit_code == 0);
  std::set<int> seen;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line)) {
    auto arrow = line.find(" -> ");
    if (arrow == std::string::npos) continue;
    std::string target = line.substr(arrow + 4);
    auto sp = line.rfind(' ', arrow - 1);
    int fd = std::stoi(line.substr(sp + 1, arrow - sp - 1));
    if (target.rfind("/proc/", 0) == 0 && target.size() > 3 &&
        target.compare(target.size() - 3, 3, "/fd") == 0)
      continue;
    seen.insert(fd);
  }
  INFO(r.out);
  CHECK(seen == std::set<int>{0, 1, 2});

  // The parent's view of a running child, once it is past the dynamic loader: cat has echoed a
  // line, so it sits in its read loop with exactly its three fds.
  platform::Pipe in_pipe, out_pipe;
  REQUIRE(!platform::make_pipe(in_pipe));
  REQUIRE(!platform::make_pipe(out_pipe));
  platform::LaunchRequest req = cmd("cat");
  req.stdin_fd = in_pipe.read.get();
  req.stdout_fd = out_pipe.write.get();
  auto res = l->launch(req);
  REQUIRE(res.ok());
  in_pipe.read.reset();
  out_pipe.write.reset();
  REQUIRE(!platform::write_all(in_pipe.write.get(), "x\n"));
  char c[2];
  REQUIRE(platform::read_some(out_pipe.read.get(), c, 2) > 0);
  std::vector<std::string> child_fds;
  for (const auto& e : std::filesystem::directory_iterator("/proc/" + std::to_string(res.child.pid) + "/fd"))
    child_fds.push_back(e.path().filename());
  std::sort(child_fds.begin(), child_fds.end());
  CHECK(child_fds == std::vector<std::string>{"0", "1", "2"});
  in_pipe.write.reset();
  out_pipe.read.reset();
  CHECK(wait_for(*l, res.child.pid).exit_code == 0);

  // And nothing leaked here: the same fds as before all this.
  CHECK(own_fds() == before);
}

TEST_CASE("launcher: default signal state in the child", "[launcher]") {
  const StartMethod method = ALL_METHODS;
  INFO("start method: " << platform::start_method_name(method));

  // A hostile parent: SIGPIPE and SIGTERM ignored, SIGUSR1 caught, SIGINT and SIGCHLD blocked. The
  // forkserver is started inside this state too.
  struct State {
    struct sigaction pipe_, term_, usr1_;
    sigset_t mask_;
    State() {
      struct sigaction ign = {}, catcher = {};
      ign.sa_handler = SIG_IGN;
      catcher.sa_handler = [](int) {};
      ::sigaction(SIGPIPE, &ign, &pipe_);
      ::sigaction(SIGTERM, &ign, &term_);
      ::sigaction(SIGUSR1, &catcher, &usr1_);
      sigset_t blk;
      sigemptyset(&blk);
      sigaddset(&blk, SIGINT);
      sigaddset(&blk, SIGCHLD);
      ::pthread_sigmask(SIG_BLOCK, &blk, &mask_);
    }
    ~State() {
      ::sigaction(SIGPIPE, &pipe_, nullptr);
      ::sigaction(SIGTERM, &term_, nullptr);
      ::sigaction(SIGUSR1, &usr1_, nullptr);
      ::pthread_sigmask(SIG_SETMASK, &mask_, nullptr);
    }
  } state;

  auto l = make(method);
  Run r = run(*l, cmd("cat", {"/proc/self/status"}));
  REQUIRE(r.res.ok());
  INFO(r.out);
  // glibc's posix_spawn (2.36 at least) sets its two reserved signals, 32 and 33, to SIG_IGN in
  // every child, whatever the attributes say; the fork paths reset them too.
  const std::string ign = status_field(r.out, "SigIgn");
  if (method == StartMethod::Spawn)
    CHECK((std::stoull(ign, nullptr, 16) & ~0x180000000ull) == 0);
  else
    CHECK(ign == "0000000000000000");
  CHECK(status_field(r.out, "SigBlk") == "0000000000000000");
  CHECK(status_field(r.out, "SigCgt") == "0000000000000000");
}

TEST_CASE("launcher: the child leads its own process group", "[launcher]") {
  const StartMethod method = ALL_METHODS;
  INFO("start method: " << platform::start_method_name(method));
  auto l = make(method);
  Run r = run(*l, cmd("cat", {"/proc/self/stat"}));
  REQUIRE(r.res.ok());
  CHECK(std::stol(r.out) == r.res.child.pid);       // field 1: pid
  CHECK(stat_field(r.out, 5) == r.res.child.pid);  // field 5: pgrp
  CHECK(r.st.pid == r.res.child.pid);
  CHECK(r.st.exit_code == 0);
}

TEST_CASE("launcher: exec failures come back as errno", "[launcher]") {
  const StartMethod method = ALL_METHODS;
  INFO("start method: " << platform::start_method_name(method));
  auto l = make(method);
  TempDir dir;
  auto try_path = [&](const std::string& path) {
    platform::LaunchRequest req;
    req.path = path;
    req.argv = {path};
    return l->launch(req);
  };

  SECTION("missing file: ENOENT") {
    auto res = try_path(dir.path + "/missing");
    CHECK(!res.ok());
    CHECK(res.error == std::errc::no_such_file_or_directory);
    CHECK(res.stage == platform::LaunchStage::Exec);
  }
  SECTION("a directory: EACCES") {
    auto res = try_path(dir.path);
    CHECK(!res.ok());
    CHECK(res.error == std::errc::permission_denied);
  }
  SECTION("no execute permission: EACCES") {
    auto res = try_path(dir.file("noexec", "#!/bin/sh\necho hi\n", 0644));
    CHECK(!res.ok());
    CHECK(res.error == std::errc::permission_denied);
  }
  SECTION("a script without #!: ENOEXEC (the engine reruns it through /bin/sh) or it runs") {
    platform::LaunchRequest req;
    req.path = dir.file("script", "echo hi\n", 0755);
    req.argv = {req.path};
    Run r = run(*l, req);
    if (r.res.ok()) {
      CHECK(r.out == "hi\n");
    } else {
      CHECK(r.res.error == std::errc::executable_format_error);
    }
  }
  SECTION("missing working directory: ENOENT") {
    platform::LaunchRequest req = sh("true");
    req.cwd = dir.path + "/missing";
    auto res = l->launch(req);
    CHECK(!res.ok());
    CHECK(res.error == std::errc::no_such_file_or_directory);
    CHECK(res.stage == platform::LaunchStage::Chdir);
  }
  SECTION("working directory is applied") {
    platform::LaunchRequest req = sh("pwd");
    req.cwd = dir.path;
    Run r = run(*l, req);
    REQUIRE(r.res.ok());
    CHECK(r.out == dir.path + "\n");
  }
  SECTION("environment is passed exactly") {
    std::vector<std::string> env = {"POOLRUN_A=1", "POOLRUN_B=two words"};
    platform::LaunchRequest req = cmd("env");
    req.env = &env;
    Run r = run(*l, req);
    REQUIRE(r.res.ok());
    CHECK(r.out == "POOLRUN_A=1\nPOOLRUN_B=two words\n");
  }

  // A failed launch is never reported by collect(): it has no child to report.
  std::vector<platform::ExitStatus> v;
  l->collect(v);
  CHECK(v.empty());
}

TEST_CASE("launcher: exit codes, signals and rusage", "[launcher]") {
  const StartMethod method = ALL_METHODS;
  INFO("start method: " << platform::start_method_name(method));
  auto l = make(method);

  Run r = run(*l, sh("exit 7"));
  REQUIRE(r.res.ok());
  CHECK(r.st.exit_code == 7);
  CHECK(r.st.signal == 0);
  CHECK(r.st.max_rss_kib > 0);

  r = run(*l, sh("kill -TERM $$"));
  REQUIRE(r.res.ok());
  CHECK(r.st.exit_code == -1);
  CHECK(r.st.signal == SIGTERM);

  // Burn some CPU so the rusage fields are visibly non-zero.
  r = run(*l, sh("i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done"));
  REQUIRE(r.res.ok());
  CHECK(r.st.exit_code == 0);
  CHECK(r.st.user_s + r.st.sys_s > 0.01);
  CHECK(r.st.max_rss_kib > 0);
}

TEST_CASE("launcher: 1000 concurrent children are all reported once", "[launcher]") {
  const StartMethod method = ALL_METHODS;
  INFO("start method: " << platform::start_method_name(method));
  auto l = make(method);
  std::error_code ec;
  auto null_fd = platform::open_dev_null(ec);
  REQUIRE(!ec);
  platform::LaunchRequest req = cmd("sleep", {"0.2"});
  req.stdin_fd = null_fd.get();
  const auto t0 = Clock::now();
  std::set<int> launched;
  std::map<int, int> reported;
  std::vector<platform::ExitStatus> v;
  for (int i = 0; i < 1000; ++i) {
    auto res = l->launch(req);
    REQUIRE(res.ok());
    launched.insert(res.child.pid);
    if (i % 100 == 0) l->collect(v);  // exits arrive while launching: none may be lost
  }
  while (v.size() < launched.size()) {
    std::size_t before = v.size();
    l->collect_blocking(v);
    REQUIRE(v.size() > before);
  }
  for (const auto& e : v) {
    ++reported[e.pid];
    CHECK(e.exit_code == 0);
  }
  CHECK(reported.size() == launched.size());
  for (const auto& [pid, n] : reported) {
    CHECK(n == 1);
    CHECK(launched.count(pid) == 1);
  }
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  CHECK(s < 30);
  l->collect(v);
  CHECK(v.size() == 1000);  // nothing more
}

TEST_CASE("launcher: a stdio source sitting in 0..2 is not clobbered", "[launcher]") {
  // stdout and stderr swapped: the plan reads fd 2 into 1 and fd 1 into 2. (posix_spawn's ordered
  // dup2 actions cannot do this, which the spawn method documents; poolrun never asks for it.)
#ifdef POOLRUN_TSAN_BUILD
  const StartMethod method = GENERATE(StartMethod::Fork);
#else
  const StartMethod method = GENERATE(StartMethod::Fork, StartMethod::Forkserver);
#endif
  INFO("start method: " << platform::start_method_name(method));
  platform::Pipe a, b;
  REQUIRE(!platform::make_pipe(a));
  REQUIRE(!platform::make_pipe(b));
  // In a helper process whose own 1 and 2 are the two pipes, so the test's stdio stays untouched.
  // Flush first: output the test runner still buffers must not end up in the pipes.
  std::cout.flush();
  std::fflush(nullptr);
  pid_t helper = ::fork();
  REQUIRE(helper >= 0);
  if (helper == 0) {
    ::dup2(a.write.get(), 1);
    ::dup2(b.write.get(), 2);
    a = {};
    b = {};
    std::error_code ec;
    auto l = platform::make_launcher(method, ec);
    if (!l) ::_exit(2);
    platform::LaunchRequest req;
    req.path = "/bin/sh";
    req.argv = {"sh", "-c", "echo out; echo err >&2"};
    req.stdout_fd = 2;
    req.stderr_fd = 1;
    auto res = l->launch(req);
    if (!res.ok()) ::_exit(3);
    std::vector<platform::ExitStatus> v;
    while (v.empty()) l->collect_blocking(v);
    l.reset();
    ::_exit(v[0].exit_code == 0 ? 0 : 4);
  }
  a.write.reset();
  b.write.reset();
  std::string on1 = read_all(a.read.get()), on2 = read_all(b.read.get());
  int status = 0;
  ::waitpid(helper, &status, 0);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(on1 == "err\n");
  CHECK(on2 == "out\n");
}

TEST_CASE("launcher: forkserver reports exits that arrive while launching", "[launcher]") {
  auto l = make(StartMethod::Forkserver);
  platform::LaunchRequest req = cmd("true");
  std::set<int> launched;
  for (int i = 0; i < 300; ++i) {
    auto res = l->launch(req);
    REQUIRE(res.ok());
    launched.insert(res.child.pid);
  }
  std::vector<platform::ExitStatus> v;
  while (v.size() < launched.size()) {
    std::size_t before = v.size();
    l->collect_blocking(v);
    REQUIRE(v.size() > before);
  }
  std::set<int> got;
  for (const auto& e : v) got.insert(e.pid);
  CHECK(got == launched);
  CHECK(v.size() == launched.size());
}

TEST_CASE("launcher: forkserver's event_fd is readable while a report waits", "[launcher]") {
  // The engine sleeps in epoll on event_fd() and calls collect() when it is readable; a report that
  // launch() took off the socket while waiting for its answer must still wake it.
  auto l = make(StartMethod::Forkserver);
  REQUIRE(l->event_fd() >= 0);
  auto readable = [&](int timeout_ms) {
    struct pollfd pfd = {l->event_fd(), POLLIN, 0};
    return ::poll(&pfd, 1, timeout_ms) == 1 && (pfd.revents & POLLIN);
  };
  auto first = l->launch(cmd("true"));
  REQUIRE(first.ok());
  REQUIRE(readable(5000));  // its exit report is on the socket
  // Launching now reads (and queues) that report before the answer.
  auto second = l->launch(cmd("sleep", {"0.3"}));
  REQUIRE(second.ok());
  CHECK(readable(0));
  std::vector<platform::ExitStatus> v;
  l->collect(v);
  REQUIRE(v.size() == 1);
  CHECK(v[0].pid == first.child.pid);
  CHECK_FALSE(readable(0));  // nothing more until the sleep ends
  CHECK(readable(5000));
  v.clear();
  l->collect(v);
  REQUIRE(v.size() == 1);
  CHECK(v[0].pid == second.child.pid);
  CHECK_FALSE(readable(0));
}

TEST_CASE("launcher: forkserver ends its jobs when the launcher is destroyed", "[launcher]") {
  auto l = make(StartMethod::Forkserver);
  // The job leads its group; a background sleep in the same group must go too.
  auto res = l->launch(sh("sleep 100 & exec sleep 100"));
  REQUIRE(res.ok());
  REQUIRE(wait_until([&] { return group_members(res.child.pid).size() == 2; }, std::chrono::seconds(5)));
  const auto t0 = Clock::now();
  l.reset();
  CHECK(wait_until([&] { return group_members(res.child.pid).empty(); }, std::chrono::seconds(1)));
  CHECK(std::chrono::duration<double>(Clock::now() - t0).count() < 1.0);
}

TEST_CASE("launcher: forkserver ends its jobs when poolrun is killed with SIGKILL", "[launcher]") {
  platform::Pipe p;
  REQUIRE(!platform::make_pipe(p));
  pid_t helper = ::fork();  // plays poolrun
  REQUIRE(helper >= 0);
  if (helper == 0) {
    p.read.reset();
    std::error_code ec;
    auto l = platform::make_forkserver_launcher(ec);
    if (!l) ::_exit(2);
    platform::LaunchRequest req;
    req.path = "/bin/sh";
    req.argv = {"sh", "-c", "sleep 100 & exec sleep 100"};
    int pid = l->launch(req).child.pid;
    if (::write(p.write.get(), &pid, sizeof pid) != sizeof pid) ::_exit(3);
    for (;;) ::pause();
  }
  p.write.reset();
  int job = 0;
  REQUIRE(::read(p.read.get(), &job, sizeof job) == sizeof job);
  REQUIRE(job > 0);
  std::string stat;
  {
    std::ifstream f("/proc/" + std::to_string(job) + "/stat");
    std::getline(f, stat);
  }
  const int server = static_cast<int>(stat_field(stat, 4));  // the job's parent
  REQUIRE(server != helper);
  REQUIRE(alive(server));
  REQUIRE(wait_until([&] { return group_members(job).size() == 2; }, std::chrono::seconds(5)));

  const auto t0 = Clock::now();
  ::kill(helper, SIGKILL);
  int status;
  ::waitpid(helper, &status, 0);
  CHECK(wait_until([&] { return group_members(job).empty() && !alive(server); }, std::chrono::seconds(1)));
  CHECK(std::chrono::duration<double>(Clock::now() - t0).count() < 1.0);
}

namespace {

/// Launches done by launch_many_true(), for the watchdog's message.
std::atomic<int> g_launched{0};

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif

/// Aborts the test binary if `done` is not set within `limit`: a child that hangs before exec would
/// otherwise hang the suite instead of failing it.
class Watchdog {
 public:
  explicit Watchdog(std::chrono::seconds limit, const char* what)
      : thread_([this, limit, what] {
          std::unique_lock lock(mu_);
          if (!cv_.wait_for(lock, limit, [this] { return done_; })) {
            std::fprintf(stderr, "watchdog: %s did not finish in %lld s (%d launched)\n", what,
                         static_cast<long long>(limit.count()), g_launched.load());
            std::abort();
          }
        }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

/// Four threads that allocate and log in a tight loop until destroyed.
class Busy {
 public:
  Busy() {
    auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>("/dev/null");
    logger_ = std::make_shared<spdlog::logger>("launcher-fork-safety", sink);
    logger_->set_level(spdlog::level::info);
    for (int t = 0; t < 4; ++t)
      threads_.emplace_back([this, t] {
        std::vector<std::unique_ptr<std::string>> keep;
        std::uint64_t i = 0;
        while (!stop_.load(std::memory_order_relaxed)) {
          if (keep.size() >= 64) keep.clear();
          keep.push_back(std::make_unique<std::string>(32 + (i * 37) % 4000, 'x'));
          logger_->info("thread {} iteration {} size {}", t, i++, keep.back()->size());
        }
      });
  }
  ~Busy() {
    stop_ = true;
    for (auto& th : threads_) th.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::shared_ptr<spdlog::logger> logger_;
  std::vector<std::thread> threads_;
};

/// Launches `n` `true` children, collecting along the way (after every `collect_every` launches);
/// returns how many were reported.
std::size_t launch_many_true(platform::Launcher& l, int n, int& failures, int collect_every = 64) {
  platform::LaunchRequest req = cmd("true");
  std::vector<platform::ExitStatus> v;
  std::size_t ok = 0;
  for (int i = 0; i < n; ++i) {
    auto res = l.launch(req);
    ++g_launched;
    if (res.ok())
      ++ok;
    else
      ++failures;
    if (i % collect_every == 0) l.collect(v);
  }
  while (v.size() < ok) {
    std::size_t before = v.size();
    l.collect_blocking(v);
    if (v.size() == before) break;
  }
  for (const auto& e : v)
    if (e.exit_code != 0) ++failures;
  return v.size();
}

}  // namespace

TEST_CASE("launcher: fork is safe while other threads allocate and log", "[launcher]") {
  // Under AddressSanitizer the allocating threads grow the heap (its quarantine) to hundreds of MB,
  // and each fork copies those page tables: far fewer children keep the test's time in bounds.
  const int n = kSanitized ? 100 : 2000;
  g_launched = 0;
  Watchdog dog(std::chrono::seconds(60), "fork safety");
  auto l = make(StartMethod::Fork);
  Busy busy;
  int failures = 0;
  std::size_t reported = launch_many_true(*l, n, failures);
  CHECK(failures == 0);
  CHECK(reported == static_cast<std::size_t>(n));
}

TEST_CASE("launcher: a forkserver started while threads allocate and log works", "[launcher]") {
  g_launched = 0;
  Watchdog dog(std::chrono::seconds(60), "forkserver started among threads");
  Busy busy;
  auto l = make(StartMethod::Forkserver);
  int failures = 0;
  std::size_t reported = launch_many_true(*l, 300, failures);
  CHECK(failures == 0);
  CHECK(reported == 300);
}

// Launch throughput: `poolrun_unit_tests '[launcher-bench]'`. POOLRUN_BENCH_N sets the count (5000),
// POOLRUN_BENCH_TOUCH_MB makes the process hold that much touched memory first (the forkserver is
// started before, as poolrun does at start-up). Each start method runs in kSlices slices that
// alternate with slices of the C baseline, so both see the same machine even when its speed drifts
// during the run; each method's line gives the baseline's rate measured beside it.
TEST_CASE("launcher: launch throughput", "[.][launcher-bench]") {
  const char* n_env = std::getenv("POOLRUN_BENCH_N");
  const char* mb_env = std::getenv("POOLRUN_BENCH_TOUCH_MB");
  const int n = n_env ? std::atoi(n_env) : 5000;
  const std::size_t mb = mb_env ? static_cast<std::size_t>(std::atoll(mb_env)) : 0;
  auto forkserver = make(StartMethod::Forkserver);
  void* ballast = nullptr;
  if (mb > 0) {
    ballast = ::mmap(nullptr, mb << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    REQUIRE(ballast != MAP_FAILED);
    std::memset(ballast, 1, mb << 20);
  }
  const std::string true_path = platform::resolve_executable("true");
  constexpr int kSlices = 10;

  // The C baseline: posix_spawn + waitpid, no launcher. Returns seconds for `count` launches.
  auto baseline = [&](int count) {
    char* argv[] = {const_cast<char*>("true"), nullptr};
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    const auto t0 = Clock::now();
    int running = 0;
    for (int i = 0; i < count; ++i) {
      pid_t pid;
      REQUIRE(::posix_spawn(&pid, true_path.c_str(), nullptr, &attr, argv, environ) == 0);
      ++running;
      while (running > 0 && ::waitpid(-1, nullptr, WNOHANG) > 0) --running;
    }
    while (running > 0 && ::waitpid(-1, nullptr, 0) > 0) --running;
    posix_spawnattr_destroy(&attr);
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };
  double base_s_all = 0;
  int base_n_all = 0;
  // fork copies the parent's page tables per job: at 2 GB it manages ~10 launches/s, so
  // POOLRUN_BENCH_FORK_N may give it fewer launches (its rate is still per launch).
  const char* fork_n_env = std::getenv("POOLRUN_BENCH_FORK_N");
  auto bench = [&](platform::Launcher& l) {
    const int count = (fork_n_env && std::string(l.name()) == "fork") ? std::atoi(fork_n_env) : n;
    int failures = 0;
    std::size_t reported = 0;
    double s = 0, base_s = 0;
    int base_n = 0;
    for (int k = 0; k < kSlices; ++k) {
      const int mine = count / kSlices + (k < count % kSlices ? 1 : 0);
      const int theirs = n / kSlices + (k < n % kSlices ? 1 : 0);
      base_s += baseline(theirs);
      base_n += theirs;
      const auto t0 = Clock::now();
      reported += launch_many_true(l, mine, failures, 1);  // reaping as it goes, as the baseline
      s += std::chrono::duration<double>(Clock::now() - t0).count();
    }
    base_s_all += base_s;
    base_n_all += base_n;
    std::printf("%-24s %6d x true: %7.3f s  %8.0f launches/s  (touched %zu MB)  baseline beside it: %8.0f launches/s\n",
                l.name(), count, s, count / s, mb, base_n / base_s);
    CHECK(failures == 0);
    CHECK(reported == static_cast<std::size_t>(count));
  };
  {
    auto l = make(StartMethod::Spawn);
    bench(*l);
  }
  {
    auto l = make(StartMethod::Fork);
    bench(*l);
  }
  bench(*forkserver);
  std::printf("%-24s %6d x true: %7.3f s  %8.0f launches/s  (touched %zu MB)\n", "posix_spawn (C baseline)",
              base_n_all, base_s_all, base_n_all / base_s_all, mb);
  forkserver.reset();
  if (ballast) ::munmap(ballast, mb << 20);
}

// ---------------------------------------------------------------------------------------------
// Built-in entry points, the process limit, a dying forkserver, and the value types.

namespace {

/// A built-in entry for the tests: copies fd 0 to fd 1 with every byte incremented, then exits 7.
void test_entry_main() noexcept {
  char buf[256];
  for (;;) {
    ssize_t n = ::read(0, buf, sizeof buf);
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) ++buf[i];
    if (::write(1, buf, static_cast<size_t>(n)) != n) ::_exit(1);
  }
  ::_exit(7);
}
constexpr const char* kTestEntry = "test-increment";
// At static initialisation: the spawn method execs this binary, whose main() then finds it.
const bool g_test_entry_registered = platform::register_builtin(kTestEntry, &test_entry_main);

/// The forkserver's server process: this process's child named "poolrun-fsrv" (the newest one).
int forkserver_pid() {
  int found = -1;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
    const std::string name = e.path().filename();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::ifstream f(e.path() / "stat");
    std::string stat;
    if (!std::getline(f, stat)) continue;
    if (stat.find("(poolrun-fsrv)") == std::string::npos) continue;
    if (stat_field(stat, 4) != ::getpid()) continue;
    found = std::max(found, std::stoi(name));
  }
  return found;
}

}  // namespace

TEST_CASE("launcher: launch_builtin runs a registered entry point", "[launcher]") {
  REQUIRE(g_test_entry_registered);
  auto method = GENERATE(StartMethod::Spawn, StartMethod::Fork, StartMethod::Forkserver);
  INFO("start method: " << platform::start_method_name(method));
  auto l = make(method);
  platform::Pipe in, out;
  REQUIRE(!platform::make_pipe(in));
  REQUIRE(!platform::make_pipe(out));
  platform::LaunchResult res = l->launch_builtin(kTestEntry, in.read.get(), out.write.get());
  REQUIRE(res.ok());
  CHECK(res.child.pgid == res.child.pid);
  CHECK(res.child.state.is_running());
  in.read.reset();
  out.write.reset();
  REQUIRE(platform::write_all(in.write.get(), "HAL") == std::error_code{});
  in.write.reset();
  CHECK(read_all(out.read.get()) == "IBM");
  platform::ExitStatus st = wait_for(*l, res.child.pid);
  CHECK(st.state() == platform::ChildState::exited(7));
}

TEST_CASE("launcher: launch_builtin of an unknown entry fails in every method", "[launcher]") {
  auto method = GENERATE(StartMethod::Spawn, StartMethod::Fork, StartMethod::Forkserver);
  INFO("start method: " << platform::start_method_name(method));
  auto l = make(method);
  platform::LaunchResult res = l->launch_builtin("no-such-entry", 0, 1);
  CHECK(!res.ok());
  CHECK(res.stage == platform::LaunchStage::Builtin);
  CHECK(res.error == std::errc::no_such_file_or_directory);
}

TEST_CASE("launcher: the process limit is a fork failure with EAGAIN in every method", "[launcher]") {
  auto method = GENERATE(StartMethod::Spawn, StartMethod::Fork, StartMethod::Forkserver);
  INFO("start method: " << platform::start_method_name(method));
  if (::geteuid() != 0) {
    WARN("skipped: needs root, to become a user of its own whose processes it can count");
    return;
  }
#ifdef POOLRUN_TSAN_BUILD
  // TSan's runtime runs a thread of its own, which RLIMIT_NPROC counts: the forkserver's server
  // cannot start under a limit of two. The normal and ASan builds test this method.
  if (method == StartMethod::Forkserver) return;
#endif
  // A helper process becomes a uid no one else uses, limited to the processes it needs itself (the
  // helper, and the forkserver's server): every job's fork then hits RLIMIT_NPROC. Root is exempt
  // from the limit, hence the uid.
  platform::Pipe p;
  REQUIRE(!platform::make_pipe(p));
  pid_t helper = ::fork();
  REQUIRE(helper >= 0);
  if (helper == 0) {
    p.read.reset();
    constexpr uid_t kUid = 47113;
    if (::setgroups(0, nullptr) != 0 || ::setgid(kUid) != 0 || ::setuid(kUid) != 0) ::_exit(2);
    const rlim_t own = method == StartMethod::Forkserver ? 2 : 1;
    struct rlimit rl = {own, own};
    if (::setrlimit(RLIMIT_NPROC, &rl) != 0) ::_exit(3);
    std::error_code ec;
    auto l = platform::make_launcher(method, ec);
    if (!l) ::_exit(4);
    platform::LaunchRequest req;
    req.path = "/bin/true";
    req.argv = {"true"};
    platform::LaunchResult res = l->launch(req);
    const int msg[3] = {res.ok() ? 1 : 0, static_cast<int>(res.stage), res.error.value()};
    if (::write(p.write.get(), msg, sizeof msg) != sizeof msg) ::_exit(5);
    ::_exit(0);
  }
  p.write.reset();
  int msg[3] = {-1, -1, -1};
  const long n = ::read(p.read.get(), msg, sizeof msg);
  int status = 0;
  ::waitpid(helper, &status, 0);
  INFO("helper exit status " << WEXITSTATUS(status));
  REQUIRE(n == static_cast<long>(sizeof msg));
  CHECK(msg[0] == 0);
  CHECK(msg[1] == static_cast<int>(platform::LaunchStage::Fork));
  CHECK(msg[2] == EAGAIN);
  CHECK(std::string(platform::stage_name(static_cast<platform::LaunchStage>(msg[1]))) == "fork");
}

TEST_CASE("launcher: a forkserver whose server dies ends its jobs and says so", "[launcher]") {
  auto l = make(StartMethod::Forkserver);
  CHECK(l->usable());
  platform::LaunchResult res = l->launch(sh("sleep 100 & exec sleep 100"));
  REQUIRE(res.ok());
  const int job = res.child.pid;
  REQUIRE(wait_until([&] { return group_members(job).size() == 2; }, std::chrono::seconds(5)));
  const int server = forkserver_pid();
  REQUIRE(server > 0);
  ::kill(server, SIGKILL);
  // The job is reported once, as killed (its real end is unknowable), and its group is ended.
  platform::ExitStatus st = wait_for(*l, job);
  CHECK(st.state() == platform::ChildState::killed(SIGKILL));
  CHECK(wait_until([&] { return group_members(job).empty(); }, std::chrono::seconds(5)));
  CHECK(!l->usable());
  platform::LaunchResult later = l->launch(sh("true"));
  CHECK(!later.ok());
  CHECK(later.stage == platform::LaunchStage::Forkserver);
  CHECK(later.error == std::errc::broken_pipe);
}

TEST_CASE("launcher: ChildState is a value: running, exited(code), killed(signal)", "[launcher]") {
  using platform::ChildState;
  CHECK(ChildState::running().is_running());
  CHECK(ChildState::exited(3).exit_code() == 3);
  CHECK(ChildState::exited(3).signal() == 0);
  CHECK(ChildState::killed(SIGTERM).signal() == SIGTERM);
  CHECK(ChildState::killed(SIGTERM).exit_code() == -1);
  CHECK(ChildState::exited(3) != ChildState::exited(4));
  CHECK(ChildState::exited(3).str() == "exited 3");
  CHECK(ChildState::killed(SIGTERM).str() == "killed by SIGTERM");
  // From real wait statuses.
  for (int code : {0, 1, 255}) {
    pid_t pid = ::fork();
    if (pid == 0) ::_exit(code);
    int status;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(ChildState::from_wait_status(status) == ChildState::exited(code));
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    ::raise(SIGKILL);
    ::_exit(0);
  }
  int status;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  CHECK(ChildState::from_wait_status(status) == ChildState::killed(SIGKILL));
}

TEST_CASE("launcher: every stage has a name", "[launcher]") {
  using platform::LaunchStage;
  CHECK(std::string(platform::stage_name(LaunchStage::Fork)) == "fork");
  CHECK(std::string(platform::stage_name(LaunchStage::Exec)) == "exec");
  CHECK(std::string(platform::stage_name(LaunchStage::Chdir)) == "chdir");
  CHECK(std::string(platform::stage_name(LaunchStage::Forkserver)) == "forkserver");
  for (int s = 0; s <= static_cast<int>(LaunchStage::Builtin); ++s)
    CHECK(platform::stage_name(static_cast<LaunchStage>(s)) != nullptr);
}
