// The unit tests' entry point. Catch2's, after one thing: the spawn start method runs a built-in
// entry point (platform/process/builtin.h) by exec'ing this binary with a hidden argument, so the
// tests of launch_builtin() need it to act on that first, as poolrun's main() does.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "platform/process/builtin.h"

int main(int argc, char** argv) {
  poolrun::platform::run_builtin_if_asked(argc, argv);
  return Catch::Session().run(argc, argv);
}
