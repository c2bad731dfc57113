// Factories for the "fork" and "forkserver" start methods. Prefer platform::make_launcher()
// (platform/process/launchers.h), which dispatches on core::StartMethod; these exist for it and for tests.
// (Candidates to move into launchers.h, next to make_spawn_launcher.)
#pragma once
#include <memory>
#include <system_error>

#include "platform/process/launcher.h"

namespace poolrun::platform {

/// fork()+execve launcher (start method "fork"). Its children are this process's own, reaped with
/// wait4(-1) like spawn's. Cost grows with the parent's memory (page tables are copied).
std::unique_ptr<core::Launcher> make_fork_launcher();

/// Forkserver launcher (start method "forkserver"): starts the server process now, connected by a
/// socketpair. Call it early, before poolrun has threads or a large heap: the server is a fork of
/// the caller and every job is forked from the server, so the server's size is what each launch
/// pays for. Returns nullptr and sets `ec` when the server cannot be started.
///
/// The destructor closes the channel; the server then SIGKILLs the process groups of the jobs still
/// running, reaps them (for at most about two seconds) and exits; the destructor reaps the server.
std::unique_ptr<core::Launcher> make_forkserver_launcher(std::error_code& ec);

}  // namespace poolrun::platform
