// Built-in entry points: code of poolrun's own that a launcher runs as a child process instead of
// a command (Launcher::launch_builtin). The launchers know entries only by name; whoever needs one
// (e.g. `poolrun bench`'s worker pool) registers it at start-up.
#pragma once

namespace poolrun::platform {

/// An entry point's body: runs in the child with fds 0, 1, 2 set up, an empty signal mask and
/// default dispositions; must not return (it ends with _exit). It may run in a forked copy of a
/// process that had other threads, so it must be async-signal-safe until it has set itself up.
using BuiltinMain = void (*)() noexcept;

/// The hidden argv[1] with which the spawn method execs poolrun to run an entry (argv[2] is the
/// entry's name). Not an option: --help and the completions never show it.
inline constexpr const char* kBuiltinArg = "--poolrun-builtin";

/// Registers `main` under `name` (a string literal: the pointer is kept). Call it before the first
/// launcher is made (the forkserver's server is a copy of the process at that moment) and before
/// run_builtin_if_asked(); not thread-safe. Returns false (and registers nothing) when the table
/// (16 entries) is full or `name` is taken by another function.
bool register_builtin(const char* name, BuiltinMain main) noexcept;

/// The function registered under `name`, or nullptr. Allocation-free (usable in the forkserver).
BuiltinMain find_builtin(const char* name) noexcept;

/// For main(): when argv is {_, kBuiltinArg, name} (the spawn method's worker), runs the entry and
/// does not return; an unknown name exits with status 127. Otherwise returns.
void run_builtin_if_asked(int argc, char** argv) noexcept;

}  // namespace poolrun::platform
