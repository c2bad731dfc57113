// Factories for the start methods' launchers (see platform/process/launcher.h for the contract).
#pragma once
#include <memory>
#include <system_error>

#include "platform/process/launcher.h"

namespace poolrun::platform {

/// posix_spawn launcher (start method "spawn"): vfork-like, cheap at any parent size.
std::unique_ptr<core::Launcher> make_spawn_launcher();

/// Creates the launcher for `method`. For forkserver this starts the server process, so call it
/// early (before poolrun starts threads). Returns nullptr and sets `ec` on failure.
std::unique_ptr<core::Launcher> make_launcher(core::StartMethod method, std::error_code& ec);

}  // namespace poolrun::platform
