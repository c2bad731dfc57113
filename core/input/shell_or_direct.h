// How a command line becomes a process: exec'd directly, or run as `SHELL -c LINE`. Every mode
// (the main job's template, --pipe, --retry-failed, --map, batch) decides for itself whether its
// command *may* skip the shell; what it then runs is decided here, once.
#pragma once
#include <string>
#include <vector>

namespace poolrun::core {

/// The shell poolrun runs command lines with (--shell / $PARALLEL_SHELL, or a batch job's
/// "shell"): `name` as given, which becomes argv[0] (as GNU parallel and execvp pass it), and
/// `path`, where it was found on $PATH. An empty path means it was not found.
struct Shell {
  std::string name;
  std::string path;

  /// Looks `name` up once, as execvp would (platform::resolve_executable). Never throws; a shell
  /// that is not there has an empty path.
  static Shell find(const std::string& name);

  /// As find(), but a shell that is not there is an error before anything runs: throws
  /// UsageError "shell 'NAME' not found or not executable".
  static Shell require(const std::string& name);
};

/// Sets `path` and `argv` to run `line` through `shell`: `shell.path` with argv
/// {shell.name, "-c", line}, as GNU parallel runs a command line.
void run_in_shell(const Shell& shell, const std::string& line, std::string& path,
                  std::vector<std::string>& argv);

/// The choice between the two ways: `program` is the command's first word as the caller resolved
/// it, or empty when the line needs a shell (shell syntax, a builtin, a template the caller cannot
/// split) or the program was not found — the shell then reports "not found" and exit 127, as GNU
/// parallel does. Non-empty: `path` = program and `argv` = make_argv() (argv[0] included; only
/// called on this branch, so a caller pays for rendering argv only when it is used). Empty:
/// run_in_shell(shell, line, ...).
template <class MakeArgv>
void shell_or_direct(const Shell& shell, const std::string& program, const std::string& line,
                     MakeArgv&& make_argv, std::string& path, std::vector<std::string>& argv) {
  if (!program.empty()) {
    path = program;
    argv = make_argv();
  } else {
    run_in_shell(shell, line, path, argv);
  }
}

}  // namespace poolrun::core
