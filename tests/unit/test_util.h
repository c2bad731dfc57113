// Helpers shared by the unit tests.
#pragma once
#include <stdio.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <string>

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

}  // namespace poolrun::test
