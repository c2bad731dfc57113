// The start method as the command line names it, and the launcher made from it. The launcher
// types themselves are platform's (platform/process/launcher.h); core uses them under their own
// names through the declarations below.
#pragma once
#include <memory>
#include <string>

#include "platform/process/launcher.h"

namespace poolrun::core {

using platform::ExitStatus;
using platform::LaunchRequest;
using platform::LaunchResult;
using platform::LaunchStage;
using platform::Launcher;
using platform::StartMethod;
using platform::start_method_name;

/// Parses "spawn" | "fork" | "forkserver" (Python's multiprocessing start methods). Throws
/// UsageError otherwise, naming `source` (the option or environment variable the value came from).
StartMethod parse_start_method(const std::string& s, const std::string& source = "--start-method");

/// The launcher for `method` (platform::make_launcher). For forkserver this starts the server
/// process, so call it early, before poolrun has threads. Throws SystemError ("cannot start the
/// forkserver launcher: <reason>") when it cannot be made. Never returns nullptr.
std::unique_ptr<Launcher> make_launcher(StartMethod method);

}  // namespace poolrun::core
