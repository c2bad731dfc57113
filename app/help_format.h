// --help for 80 columns: the layout of every poolrun --help (main job, batch, bench, report).
#pragma once

namespace CLI {
class App;
}

namespace poolrun::app {

/// The width --help keeps within (a terminal's default), in columns.
inline constexpr int kHelpWidth = 80;

/// Gives `app` (and the subcommands added to it afterwards) poolrun's help layout: each option as
/// "  NAMES VALUE" and its description, wrapped at kHelpWidth columns in a column of its own (on the
/// next line when the names are long); VALUE is the option's value name (FILE, N, DURATION...)
/// without CLI11's type and range annotations ("INT:INT in [0 - 1000000000]"); the description,
/// the subcommands' texts and the footer are wrapped at kHelpWidth as well.
void set_help_format(CLI::App& app);

}  // namespace poolrun::app
