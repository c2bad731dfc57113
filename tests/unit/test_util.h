// Helpers shared by the unit tests.
#pragma once
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

namespace poolrun::test {

/// Runs `script` with /bin/sh (popen) and returns its standard output.
inline std::string sh_output(const std::string& script) {
  FILE* f = ::popen(script.c_str(), "r");
  REQUIRE(f != nullptr);
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  ::pclose(f);
  return out;
}

/// Calls `body` (returning an exit status) with fd 1 pointed at the file `path`, then restores
/// fd 1 and removes the file. Returns (the status, what was written to fd 1).
template <class Body>
std::pair<int, std::string> with_stdout_captured(const std::string& path, Body body) {
  std::fflush(stdout);
  int saved = ::dup(1);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  REQUIRE(fd >= 0);
  ::dup2(fd, 1);
  ::close(fd);
  int rc = body();
  std::fflush(stdout);
  ::dup2(saved, 1);
  ::close(saved);
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  ::unlink(path.c_str());
  return {rc, ss.str()};
}

}  // namespace poolrun::test
