#include "platform/process/wait.h"

#include <errno.h>
#include <sys/wait.h>

namespace poolrun::platform {

std::vector<char*> c_string_array(const std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (const auto& s : v) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

ExitStatus exit_status_from(int pid, int wstatus, const struct rusage& ru) {
  ExitStatus st;
  st.pid = pid;
  if (WIFEXITED(wstatus)) {
    st.exit_code = WEXITSTATUS(wstatus);
  } else if (WIFSIGNALED(wstatus)) {
    st.signal = WTERMSIG(wstatus);
    st.core_dumped = WCOREDUMP(wstatus);
  }
  st.user_s = static_cast<double>(ru.ru_utime.tv_sec) + ru.ru_utime.tv_usec / 1e6;
  st.sys_s = static_cast<double>(ru.ru_stime.tv_sec) + ru.ru_stime.tv_usec / 1e6;
  st.max_rss_kib = ru.ru_maxrss;
  return st;
}

bool reap_children(std::vector<ExitStatus>& out, bool block) {
  bool first = true;
  for (;;) {
    int status = 0;
    struct rusage ru = {};
    int flags = (block && first) ? 0 : WNOHANG;
    pid_t pid = ::wait4(-1, &status, flags, &ru);
    if (pid < 0) {
      if (errno == EINTR) continue;
      return errno != ECHILD;
    }
    if (pid == 0) return true;
    first = false;
    out.push_back(exit_status_from(pid, status, ru));
  }
}

}  // namespace poolrun::platform
