// Start method "spawn": posix_spawn. glibc implements it with clone(CLONE_VM|CLONE_VFORK), so its
// cost does not grow with poolrun's memory, and it reports exec errors synchronously.
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "platform/process/launchers.h"
#include "platform/process/builtin.h"
#include "platform/process/wait.h"

extern char** environ;

namespace poolrun::platform {
namespace {

class SpawnLauncher final : public Launcher {
 public:
  SpawnLauncher() {
    // Prepared once: every launch uses the same attributes.
    posix_spawnattr_init(&attr_);
    sigset_t empty, all;
    sigemptyset(&empty);
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    posix_spawnattr_setsigmask(&attr_, &empty);
    // Reset every signal to default: one poolrun ignores (SIGPIPE) would otherwise survive exec.
    posix_spawnattr_setsigdefault(&attr_, &all);
    posix_spawnattr_setpgroup(&attr_, 0);
    posix_spawnattr_setflags(&attr_, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
                                         POSIX_SPAWN_SETPGROUP);
  }
  ~SpawnLauncher() override {
    posix_spawnattr_destroy(&attr_);
    for (auto& c : cache_)
      if (c.used) posix_spawn_file_actions_destroy(&c.fa);
    if (uncached_used_) posix_spawn_file_actions_destroy(&uncached_);
  }

  const char* name() const override { return "spawn"; }

  LaunchResult launch(const LaunchRequest& req) override {
    posix_spawn_file_actions_t* fa = file_actions(req);
    auto argv = c_string_array(req.argv);
    std::vector<char*> envp;
    if (req.env) envp = c_string_array(*req.env);
    pid_t pid = -1;
    int rc = ::posix_spawn(&pid, req.path.c_str(), fa, &attr_, argv.data(),
                           req.env ? envp.data() : environ);
    if (rc != 0) return failure(req, rc);  // posix_spawn returns the error, errno is untouched
    return LaunchResult::started(pid);
  }

  void collect(std::vector<ExitStatus>& out) override { reap_children(out, false); }
  void collect_blocking(std::vector<ExitStatus>& out) override { reap_children(out, true); }

  /// spawn's built-in entry: poolrun itself, exec'd afresh with the hidden argument (main() hands
  /// {kBuiltinArg, id} to run_builtin_if_asked()).
  LaunchResult launch_builtin(BuiltinId id, int in_fd, int out_fd) override {
    if (find_builtin(id) == nullptr) return LaunchResult::failed(LaunchStage::Builtin, ENOENT);
    LaunchRequest req;
    req.path = "/proc/self/exe";  // resolved by the kernel in the child: poolrun's own binary
    req.argv = {"poolrun", kBuiltinArg, id};
    req.stdin_fd = in_fd;
    req.stdout_fd = out_fd;
    return launch(req);
  }

 private:
  /// posix_spawn's error `rc` as a stage. It does not say which step failed, so the stage is
  /// inferred: EAGAIN can only come from creating the process (clone: the process limit, as
  /// fork's EAGAIN), a working directory that cannot be entered is "chdir" as in the fork paths,
  /// and everything else is "exec".
  static LaunchResult failure(const LaunchRequest& req, int rc) {
    if (rc == EAGAIN) return LaunchResult::failed(LaunchStage::Fork, rc);
    if (!req.cwd.empty()) {
      struct stat st;
      if (::stat(req.cwd.c_str(), &st) != 0) return LaunchResult::failed(LaunchStage::Chdir, errno);
      if (!S_ISDIR(st.st_mode)) return LaunchResult::failed(LaunchStage::Chdir, ENOTDIR);
      if (::access(req.cwd.c_str(), X_OK) != 0) return LaunchResult::failed(LaunchStage::Chdir, errno);
    }
    return LaunchResult::failed(LaunchStage::Exec, rc);
  }

  /// The file actions for `req`: dup2 of its stdio sources onto 0, 1, 2, closefrom(3) and the
  /// working directory. glibc checks every fd an action names against RLIMIT_NOFILE (a getrlimit
  /// system call per fd, seven per job), so actions are kept for the few stdio layouts in use —
  /// a run recycles the same pipe fd numbers — and reused; POSIX lets one object serve many spawns.
  posix_spawn_file_actions_t* file_actions(const LaunchRequest& req) {
    const int src[3] = {req.stdin_fd, req.stdout_fd, req.stderr_fd};
    const bool cacheable = req.cwd.empty();  // a working directory per job: built each time
    if (cacheable) {
      for (auto& c : cache_)
        if (c.used && c.src[0] == src[0] && c.src[1] == src[1] && c.src[2] == src[2]) return &c.fa;
    }
    posix_spawn_file_actions_t* fa;
    if (cacheable) {
      Cached& c = cache_[next_];
      next_ = (next_ + 1) % kCached;
      if (c.used) posix_spawn_file_actions_destroy(&c.fa);
      c.used = true;
      std::copy(src, src + 3, c.src);
      fa = &c.fa;
    } else {
      if (uncached_used_) posix_spawn_file_actions_destroy(&uncached_);
      uncached_used_ = true;
      fa = &uncached_;
    }
    posix_spawn_file_actions_init(fa);
    // dup2 onto 0,1,2 clears close-on-exec on the copies. A source already at its target number
    // would keep its flag, but poolrun's own pipes never sit at 0..2 (they are opened after
    // 0..2 are guaranteed open), and -1 means "inherit", so no action is needed then.
    for (int target = 0; target < 3; ++target)
      if (src[target] >= 0 && src[target] != target)
        posix_spawn_file_actions_adddup2(fa, src[target], target);
    // fds poolrun inherited without close-on-exec must not reach the jobs either: close all
    // from 3 up in the child (glibc >= 2.34).
    posix_spawn_file_actions_addclosefrom_np(fa, 3);
    if (!cacheable) posix_spawn_file_actions_addchdir_np(fa, req.cwd.c_str());
    return fa;
  }

  struct Cached {
    bool used = false;
    int src[3] = {-1, -1, -1};
    posix_spawn_file_actions_t fa;
  };
  static constexpr std::size_t kCached = 8;
  Cached cache_[kCached];
  std::size_t next_ = 0;
  posix_spawn_file_actions_t uncached_;
  bool uncached_used_ = false;
  posix_spawnattr_t attr_;
};

}  // namespace

std::unique_ptr<Launcher> make_spawn_launcher() { return std::make_unique<SpawnLauncher>(); }

std::unique_ptr<Launcher> make_launcher(StartMethod method, std::error_code& ec) {
  switch (method) {
    case StartMethod::Spawn:
      return make_spawn_launcher();
    case StartMethod::Fork:
      return make_fork_launcher();
    case StartMethod::Forkserver:
      return make_forkserver_launcher(ec);
  }
  ec = std::make_error_code(std::errc::invalid_argument);
  return nullptr;
}

}  // namespace poolrun::platform
