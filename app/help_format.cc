#include "app/help_format.h"

#include <CLI/CLI.hpp>

#include <memory>
#include <string>

namespace poolrun::app {

namespace {

constexpr std::size_t kWidth = kHelpWidth;
constexpr std::size_t kColumn = 30;  // where descriptions start

/// `text` wrapped at kWidth columns: each line of it (explicit newlines stay) is broken at spaces;
/// the first line starts at column `first` (the caller has written that much), the others are
/// indented by `indent` spaces. A word longer than a line stays whole.
std::string wrap(const std::string& text, std::size_t first, std::size_t indent) {
  std::string out;
  std::size_t col = first;
  std::size_t start = 0;
  bool first_line = true;
  while (start <= text.size()) {
    std::size_t nl = text.find('\n', start);
    std::string line = text.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    if (!first_line) {
      out += '\n';
      out.append(indent, ' ');
      col = indent;
    }
    first_line = false;
    // A line's own leading blanks (an indented example) are kept, and its continuation lines get
    // them too.
    std::size_t lead = line.find_first_not_of(' ');
    if (lead == std::string::npos) lead = line.size();
    out.append(line, 0, lead);
    col += lead;
    const std::size_t line_start = col;
    bool at_start = true;
    std::size_t pos = lead;
    while (pos < line.size()) {
      std::size_t sp = line.find(' ', pos);
      std::string word = line.substr(pos, sp == std::string::npos ? std::string::npos : sp - pos);
      pos = sp == std::string::npos ? line.size() : sp + 1;
      if (word.empty()) continue;
      if (!at_start && col + 1 + word.size() > kWidth) {
        out += '\n';
        out.append(line_start, ' ');
        col = line_start;
        at_start = true;
      }
      if (!at_start) {
        out += ' ';
        ++col;
      }
      out += word;
      col += word.size();
      at_start = false;
    }
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return out;
}

/// "  NAMES VALUE" padded to kColumn, then the description wrapped beside it (below it when the
/// names reach the column).
std::string row(std::string left, const std::string& description) {
  left = "  " + left;
  if (description.empty()) return left + "\n";
  if (left.size() + 2 > kColumn) return left + "\n" + std::string(kColumn, ' ') + wrap(description, kColumn, kColumn) + "\n";
  left.append(kColumn - left.size(), ' ');
  return left + wrap(description, kColumn, kColumn) + "\n";
}

class HelpFormatter : public CLI::Formatter {
 public:
  std::string make_option(const CLI::Option* opt, bool is_positional) const override {
    return row(make_option_name(opt, is_positional) + make_option_opts(opt), make_option_desc(opt));
  }

  std::string make_option_opts(const CLI::Option* opt) const override {
    if (opt->get_items_expected_max() == 0 || opt->get_positional()) return "";  // a flag takes no value
    std::string type = opt->get_type_name();
    type = type.substr(0, type.find(':'));  // validators append ":INT in [0 - 1000000000]"
    if (type.empty()) type = "VALUE";
    std::string s = " " + type;
    if (opt->get_expected_max() == CLI::detail::expected_max_vector_size) s += " ...";
    return s;
  }

  std::string make_subcommand(const CLI::App* sub) const override {
    return row(sub->get_display_name(true), sub->get_description());
  }

  std::string make_description(const CLI::App* app) const override {
    std::string d = app->get_description();
    return d.empty() ? "" : wrap(d, 0, 2) + "\n";
  }

  std::string make_footer(const CLI::App* app) const override {
    // Footers are written as prose lines and indented example lines: consecutive prose lines are
    // one paragraph, reflowed at kHelpWidth; a line ending with ':' introduces what follows.
    const std::string f = app->get_footer();
    std::string text;
    bool prose = false;
    std::size_t start = 0;
    while (start <= f.size()) {
      std::size_t nl = f.find('\n', start);
      std::string line = f.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
      const bool is_prose = !line.empty() && line[0] != ' ';
      if (!text.empty()) text += prose && is_prose ? " " : "\n";
      text += line;
      prose = is_prose && line.back() != ':';
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
    return text.empty() ? "" : wrap(text, 0, 0) + "\n";
  }
};

}  // namespace

void set_help_format(CLI::App& app) {
  auto f = std::make_shared<HelpFormatter>();
  f->column_width(kColumn);
  app.formatter(f);
}

}  // namespace poolrun::app
