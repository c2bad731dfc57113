// Factories for the start methods' launchers (see platform/process/launcher.h for the contract).
#pragma once
#include <memory>
#include <system_error>

#include "platform/process/launcher.h"

namespace poolrun::platform {

/// posix_spawn launcher (start method "spawn"): vfork-like, cheap at any parent size.
std::unique_ptr<Launcher> make_spawn_launcher();

/// fork()+execve launcher (start method "fork"). Its children are this process's own, reaped with
/// wait4(-1) like spawn's. Cost grows with the parent's memory (page tables are copied).
std::unique_ptr<Launcher> make_fork_launcher();

/// Forkserver launcher (start method "forkserver"): starts the server process now, connected by a
/// socketpair. Call it early, before poolrun has threads or a large heap: the server is a fork of
/// the caller and every job is forked from the server, so the server's size is what each launch
/// pays for. Returns nullptr and sets `ec` (an errno value) when the server cannot be started.
///
/// The destructor closes the channel; the server then SIGKILLs the process groups of the jobs still
/// running, reaps them (for at most about two seconds) and exits; the destructor reaps the server.
std::unique_ptr<Launcher> make_forkserver_launcher(std::error_code& ec);

/// Creates the launcher for `method`. For forkserver this starts the server process, so call it
/// early (before poolrun starts threads). Returns nullptr and sets `ec` (an errno value) on
/// failure; core::make_launcher() (core/run/start_method.h) turns that into an exception.
std::unique_ptr<Launcher> make_launcher(StartMethod method, std::error_code& ec);

}  // namespace poolrun::platform
