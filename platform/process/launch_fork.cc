// Start method "fork": fork() then execve, with the child path of platform/process/child_exec.h.
//
// Everything the child needs (argv/envp as char* arrays, the path, the cwd, the fd plan) is built
// here in the parent before forking; the child only calls async-signal-safe functions, so the
// method is safe while other threads of poolrun allocate and log. Its cost grows with poolrun's
// mapped memory (fork copies the page tables): that is the trade-off users pick it for or avoid.
//
// Exec failures come back through a close-on-exec pipe as (stage, errno). ENOEXEC (a script
// without "#!") is returned as such, like the spawn method does; the engine then runs the command
// through the shell, as execvp would.
#include <errno.h>

#include <memory>
#include <string>
#include <vector>

#include "platform/process/builtin.h"
#include "platform/process/child_exec.h"
#include "platform/process/launchers.h"
#include "platform/process/wait.h"

extern char** environ;

namespace poolrun::platform {
namespace {

/// A pid, or the failed stage and its errno.
LaunchResult to_launch_result(const detail::ForkExecResult& r) {
  return r.pid > 0 ? LaunchResult::started(r.pid) : LaunchResult::failed(r.stage, r.error);
}

class ForkLauncher final : public Launcher {
 public:
  const char* name() const override { return "fork"; }

  LaunchResult launch(const LaunchRequest& req) override {
    // All allocation happens here, before fork_exec() forks.
    std::vector<char*> argv = c_string_array(req.argv);
    std::vector<char*> envp;
    if (req.env) envp = c_string_array(*req.env);
    detail::ChildPlan plan;
    plan.path = req.path.c_str();
    plan.argv = argv.data();
    plan.envp = req.env ? envp.data() : environ;
    plan.cwd = req.cwd.empty() ? nullptr : req.cwd.c_str();
    plan.stdio[0] = req.stdin_fd;
    plan.stdio[1] = req.stdout_fd;
    plan.stdio[2] = req.stderr_fd;
    plan.reset_signals = reset_.data();
    plan.reset_count = static_cast<int>(reset_.size());

    return to_launch_result(detail::fork_exec(plan));
  }

  /// fork's built-in entry: the forked copy of poolrun runs it itself, no exec. The copy has
  /// only the calling thread; callers start entries while they have no other thread.
  LaunchResult launch_builtin(BuiltinId id, int in_fd, int out_fd) override {
    BuiltinMain main = find_builtin(id);
    if (main == nullptr) return LaunchResult::failed(LaunchStage::Builtin, ENOENT);
    detail::ChildPlan plan;
    plan.stdio[0] = in_fd;
    plan.stdio[1] = out_fd;
    plan.run_instead = main;
    return to_launch_result(detail::fork_exec(plan));
  }

  // The children are ours: reaped exactly like the spawn method's.
  void collect(std::vector<ExitStatus>& out) override { reap_children(out, false); }
  void collect_blocking(std::vector<ExitStatus>& out) override { reap_children(out, true); }

 private:
  const std::vector<int> reset_ = detail::signals_to_reset();  ///< reset in every child
};

}  // namespace

std::unique_ptr<Launcher> make_fork_launcher() { return std::make_unique<ForkLauncher>(); }

}  // namespace poolrun::platform
