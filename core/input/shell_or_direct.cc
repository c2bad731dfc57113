#include "core/input/shell_or_direct.h"

#include "core/errors.h"
#include "platform/system.h"

namespace poolrun::core {

Shell Shell::find(const std::string& name) { return Shell{name, platform::resolve_executable(name)}; }

Shell Shell::require(const std::string& name) {
  Shell s = find(name);
  if (s.path.empty()) throw UsageError("shell '" + name + "' not found or not executable");
  return s;
}

void run_in_shell(const Shell& shell, const std::string& line, std::string& path,
                  std::vector<std::string>& argv) {
  path = shell.path;
  argv = {shell.name, "-c", line};
}

}  // namespace poolrun::core
