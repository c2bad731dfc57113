#include "core/run/start_method.h"

#include <system_error>

#include "core/errors.h"
#include "platform/process/launchers.h"

namespace poolrun::core {

StartMethod parse_start_method(const std::string& s, const std::string& source) {
  if (s == "spawn") return StartMethod::Spawn;
  if (s == "fork") return StartMethod::Fork;
  if (s == "forkserver") return StartMethod::Forkserver;
  throw UsageError(source + ": expected spawn, fork or forkserver, got '" + s + "'");
}

std::unique_ptr<Launcher> make_launcher(StartMethod method) {
  std::error_code ec;
  auto launcher = platform::make_launcher(method, ec);
  if (!launcher)
    throw SystemError(std::string("cannot start the ") + start_method_name(method) + " launcher: " +
                      (ec ? ec.message() : "unknown error"));
  return launcher;
}

}  // namespace poolrun::core
