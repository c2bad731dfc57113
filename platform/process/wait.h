// Reaping children of poolrun's own (spawn and fork start methods).
#pragma once
#include <sys/resource.h>

#include <string>
#include <vector>

#include "platform/process/launcher.h"

namespace poolrun::platform {

/// argv/envp as a NULL-terminated char* array pointing into `v` (valid while `v` lives), built
/// in the parent before a launch.
std::vector<char*> c_string_array(const std::vector<std::string>& v);

/// Converts a wait status and rusage into an ExitStatus for `pid`.
ExitStatus exit_status_from(int pid, int wstatus, const struct rusage& ru);

/// Reaps every exited child of this process without blocking (wait4(-1, WNOHANG)) and appends
/// them. When `block` is true, waits for at least one first. Returns false when there is no child.
bool reap_children(std::vector<ExitStatus>& out, bool block);

}  // namespace poolrun::platform
