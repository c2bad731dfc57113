#include "platform/process/launcher.h"

#include <string.h>
#include <sys/wait.h>

#include <string>

namespace poolrun::platform {

const char* stage_name(LaunchStage stage) noexcept {
  switch (stage) {
    case LaunchStage::None: return "start";
    case LaunchStage::Pipe: return "pipe";
    case LaunchStage::Fork: return "fork";
    case LaunchStage::Setpgid: return "setpgid";
    case LaunchStage::Dup2: return "dup2";
    case LaunchStage::Chdir: return "chdir";
    case LaunchStage::Sigmask: return "sigmask";
    case LaunchStage::Exec: return "exec";
    case LaunchStage::Spawn: return "spawn";
    case LaunchStage::Forkserver: return "forkserver";
    case LaunchStage::Builtin: return "builtin";
  }
  return "start";
}

ChildState ChildState::from_wait_status(int wstatus) noexcept {
  if (WIFEXITED(wstatus)) return exited(WEXITSTATUS(wstatus));
  if (WIFSIGNALED(wstatus)) return killed(WTERMSIG(wstatus), WCOREDUMP(wstatus));
  return running();
}

std::string ChildState::str() const {
  switch (kind_) {
    case Kind::Running: return "running";
    case Kind::Exited: return "exited " + std::to_string(value_);
    case Kind::Killed: {
      const char* abbrev = ::sigabbrev_np(value_);
      std::string s = abbrev ? std::string("killed by SIG") + abbrev : "killed by signal " + std::to_string(value_);
      return core_dumped_ ? s + " (core dumped)" : s;
    }
  }
  return "running";
}

const char* start_method_name(StartMethod m) noexcept {
  switch (m) {
    case StartMethod::Spawn: return "spawn";
    case StartMethod::Fork: return "fork";
    case StartMethod::Forkserver: return "forkserver";
  }
  return "?";
}

}  // namespace poolrun::platform
