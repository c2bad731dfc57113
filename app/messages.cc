#include "app/messages.h"

#include <CLI/CLI.hpp>

#include "platform/fd.h"

namespace poolrun::app {

namespace {
void print(const char* level, const std::string& msg) {
  // One write: lines of poolrun and of its jobs, which share stderr, do not interleave.
  (void)platform::write_all(2, std::string("poolrun: ") + level + ": " + msg + "\n");
}
}  // namespace

void print_error(const std::string& msg) { print("error", msg); }

void print_warning(const std::string& msg) { print("warning", msg); }

std::string parse_error_text(const CLI::ParseError& e, const std::string& command) {
  std::string text = e.what();
  if (dynamic_cast<const CLI::ExtrasError*>(&e)) {
    // CLI11: "The following argument was not expected: --x" (or "arguments were": a list).
    std::string word = text.substr(text.rfind(": ") + 2);
    word = word.substr(0, word.find(' '));
    bool option = word.size() > 1 && word[0] == '-';
    return std::string(option ? "unknown option '" : "unexpected argument '") + word + "' (see " + command +
           " --help)";
  }
  if (dynamic_cast<const CLI::ConversionError*>(&e)) {
    // CLI11: "Could not convert: --tasks = x".
    auto colon = text.find(": "), eq = text.rfind(" = ");
    if (colon != std::string::npos && eq != std::string::npos && eq > colon)
      return text.substr(colon + 2, eq - colon - 2) + ": invalid value '" + text.substr(eq + 3) + "'";
  }
  // CLI11 starts some sentences in capitals ("--max-args: Value -1 not in range 0 to 10"); poolrun's
  // messages continue after "poolrun: error: " in lower case.
  for (std::size_t at = 0; at < text.size(); ++at) {
    if (at + 1 < text.size() && text[at] == ':' && text[at + 1] == ' ') {
      if (at + 3 < text.size() && text[at + 2] >= 'A' && text[at + 2] <= 'Z' && text[at + 3] >= 'a' && text[at + 3] <= 'z')
        text[at + 2] = static_cast<char>(text[at + 2] - 'A' + 'a');
      break;
    }
  }
  return text;
}

}  // namespace poolrun::app
