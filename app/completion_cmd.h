// `poolrun --completion bash|zsh`: prints a shell completion script generated from the CLI11
// definition of poolrun's options (app/run_cmd.cc) and of the batch subcommand's (app/batch_cmd.cc),
// so that the completion cannot drift from the options poolrun really has. The build writes both
// scripts to build/completions/ and `cmake --install` installs them (see CMakeLists.txt).
#pragma once
#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace poolrun::app {

/// True when poolrun's argv asks for a completion script: argv[1] is "--completion" or
/// "--completion=SHELL". The option is not in --help: it is for packagers and the build.
bool is_completion_request(const std::vector<std::string>& argv);

/// The completion script for `shell` ("bash" or "zsh"). `main_app` is poolrun's App with the main
/// job's options bound (setup_run); the batch subcommand's options are taken from setup_batch.
/// Options in the hidden group (empty group name) are left out. Throws UsageError for another shell.
std::string completion_script(const CLI::App& main_app, const std::string& shell);

/// Handles `poolrun --completion SHELL` (argv as main() got it): prints the script on stdout.
/// Returns the exit status: 0, or 255 after one line on stderr for a missing or unknown shell.
int completion_main(const CLI::App& main_app, const std::vector<std::string>& argv);

}  // namespace poolrun::app
