// Typed errors raised by core. app/ catches them once, prints one line and exits 255.
#pragma once
#include <stdexcept>
#include <string>

namespace poolrun {

/// A bad option value or command template (e.g. "-j abc"). The message names the option and the value.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// An input that cannot be read (unreadable argfile, bad spec file). The message names the input.
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A failure of the operating system that stops the run (e.g. cannot create a pipe at start-up).
struct SystemError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace poolrun
