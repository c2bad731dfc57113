#include "platform/system.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

extern char** environ;

namespace poolrun::platform {

double monotonic_now() {
  struct timespec ts;
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

double wall_now() {
  struct timespec ts;
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec / 1000) / 1e6;
}

std::size_t available_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<std::size_t>(n);
  }
  long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<std::size_t>(n) : 1;
}

static bool is_exec_file(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(p.c_str(), X_OK) == 0;
}

std::string resolve_executable(const std::string& name) {
  if (name.empty()) return "";
  if (name.find('/') != std::string::npos) return is_exec_file(name) ? name : "";
  const char* env = ::getenv("PATH");
  std::string path = env ? env : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  for (;;) {
    std::size_t end = path.find(':', start);
    std::string dir = path.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (dir.empty()) dir = ".";
    std::string cand = dir + "/" + name;
    if (is_exec_file(cand)) return cand;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return "";
}

std::error_code kill_process_group(int pgid, int sig) {
  if (pgid <= 1) return {EINVAL, std::system_category()};
  if (::kill(-pgid, sig) != 0) return {errno, std::system_category()};
  return {};
}

bool process_group_alive(int pgid) { return pgid > 1 && (::kill(-pgid, 0) == 0 || errno == EPERM); }

std::size_t arg_max() {
  long v = ::sysconf(_SC_ARG_MAX);
  return v > 0 ? static_cast<std::size_t>(v) : 131072;
}

std::size_t arg_strlen_max() { return 32 * static_cast<std::size_t>(::sysconf(_SC_PAGESIZE)); }

std::size_t environment_size() {
  std::size_t n = 0;
  for (char** e = environ; e && *e; ++e) n += std::strlen(*e) + 1 + sizeof(char*);
  return n + sizeof(char*);
}

std::error_code make_dirs(const std::string& path) {
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    std::string part = path.substr(0, pos);
    if (part.empty()) continue;
    if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) return {errno, std::system_category()};
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return {ENOTDIR, std::system_category()};
  return {};
}

bool fd_is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1 || errno != EBADF; }

void ensure_stdio_open() {
  for (int fd = 0; fd < 3; ++fd) {
    if (::fcntl(fd, F_GETFD) != -1 || errno != EBADF) continue;
    int null = ::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);  // takes the lowest free fd: `fd`
    if (null >= 0 && null != fd) {
      ::dup2(null, fd);
      ::close(null);
    }
  }
}

std::error_code list_open_fds(std::vector<std::pair<int, std::string>>& out) {
  DIR* d = ::opendir("/proc/self/fd");
  if (!d) return {errno, std::system_category()};
  const int own = ::dirfd(d);
  while (struct dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    int fd = std::atoi(e->d_name);
    if (fd == own) continue;
    char target[PATH_MAX];
    std::string link = std::string("/proc/self/fd/") + e->d_name;
    ssize_t n = ::readlink(link.c_str(), target, sizeof target - 1);
    out.emplace_back(fd, n > 0 ? std::string(target, static_cast<std::size_t>(n)) : std::string("?"));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return {};
}

void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

int self_pid() { return static_cast<int>(::getpid()); }

const std::string& PrivateTempDir::path_or_create(std::error_code& ec) {
  if (!path_.empty()) return path_;
  const char* base = ::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/poolrun.XXXXXX";
  std::string buf = tmpl;
  if (::mkdtemp(buf.data()) == nullptr) {  // mkdtemp makes it 0700
    ec = {errno, std::system_category()};
    return path_;
  }
  path_ = buf;
  return path_;
}

UniqueFd PrivateTempDir::make_file(std::error_code& ec) {
  const std::string& dir = path_or_create(ec);
  if (ec) return UniqueFd();
  int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd >= 0) return UniqueFd(fd);
  std::string name = dir + "/spill.XXXXXX";
  fd = ::mkostemp(name.data(), O_CLOEXEC);  // mode 0600
  if (fd < 0) {
    ec = {errno, std::system_category()};
    return UniqueFd();
  }
  ::unlink(name.c_str());
  return UniqueFd(fd);
}

static void remove_tree(const std::string& path) {
  if (DIR* d = ::opendir(path.c_str())) {
    while (struct dirent* e = ::readdir(d)) {
      if (!std::strcmp(e->d_name, ".") || !std::strcmp(e->d_name, "..")) continue;
      std::string child = path + "/" + e->d_name;
      struct stat st;
      if (::lstat(child.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) remove_tree(child);
      else ::unlink(child.c_str());
    }
    ::closedir(d);
  }
  ::rmdir(path.c_str());
}

void PrivateTempDir::remove() {
  if (path_.empty()) return;
  remove_tree(path_);
  path_.clear();
}

}  // namespace poolrun::platform
