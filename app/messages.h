// poolrun's messages on stderr: one form for all of them, "poolrun: error: text" and
// "poolrun: warning: text" (GNU parallel writes "parallel: Error: text"). The spdlog logger that
// core/ logs to prints the same form (app/main.cc); app/ uses these where it prints itself.
#pragma once
#include <string>

namespace CLI {
class ParseError;
}

namespace poolrun::app {

/// Writes "poolrun: error: MSG" and a newline to stderr in one write. Nothing is reported when
/// stderr cannot be written.
void print_error(const std::string& msg);

/// Writes "poolrun: warning: MSG" and a newline to stderr in one write.
void print_warning(const std::string& msg);

/// The text of a CLI11 parse error `e` of the command `command` ("poolrun", "poolrun batch"), as
/// poolrun words it: an unknown option is "unknown option '--x' (see COMMAND --help)", a stray
/// argument "unexpected argument 'x' (see COMMAND --help)"; any other error is CLI11's own text.
std::string parse_error_text(const CLI::ParseError& e, const std::string& command);

}  // namespace poolrun::app
