#include "platform/process/launcher.h"

#include "core/errors.h"

namespace poolrun::core {

StartMethod parse_start_method(const std::string& s, const std::string& source) {
  if (s == "spawn") return StartMethod::Spawn;
  if (s == "fork") return StartMethod::Fork;
  if (s == "forkserver") return StartMethod::Forkserver;
  throw UsageError(source + ": expected spawn, fork or forkserver, got '" + s + "'");
}

const char* start_method_name(StartMethod m) {
  switch (m) {
    case StartMethod::Spawn: return "spawn";
    case StartMethod::Fork: return "fork";
    case StartMethod::Forkserver: return "forkserver";
  }
  return "?";
}

}  // namespace poolrun::core
