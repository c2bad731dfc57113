#include "platform/process/builtin.h"

#include <string.h>
#include <unistd.h>

namespace poolrun::platform {
namespace {

struct Entry {
  const char* name;
  BuiltinMain main;
};
/// A fixed table, not a map: the forkserver looks entries up without allocating.
constexpr int kMaxEntries = 16;
Entry g_entries[kMaxEntries];
int g_count = 0;

}  // namespace

bool register_builtin(const char* name, BuiltinMain main) noexcept {
  if (BuiltinMain known = find_builtin(name)) return known == main;
  if (g_count == kMaxEntries || name == nullptr || main == nullptr) return false;
  g_entries[g_count++] = {name, main};
  return true;
}

BuiltinMain find_builtin(const char* name) noexcept {
  if (name == nullptr) return nullptr;
  for (int i = 0; i < g_count; ++i)
    if (strcmp(g_entries[i].name, name) == 0) return g_entries[i].main;
  return nullptr;
}

void run_builtin_if_asked(int argc, char** argv) noexcept {
  if (argc != 3 || strcmp(argv[1], kBuiltinArg) != 0) return;
  BuiltinMain main = find_builtin(argv[2]);
  if (main == nullptr) ::_exit(127);  // as a shell says of a command it cannot find
  main();
  ::_exit(127);  // not reached: an entry does not return
}

}  // namespace poolrun::platform
