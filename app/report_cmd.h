// `poolrun report SUBCOMMAND ...`: tools that read the reports of earlier runs (docs/reports.md).
//   poolrun report timeline RUN.json --svg FILE   a Gantt chart of a --json report, one lane per job slot
//   poolrun report chart CHART.json --svg FILE    a line chart of measurements described in JSON
#pragma once
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace poolrun::app {

/// Raw option values of `poolrun report timeline|chart` as CLI11 binds them.
struct ReportOptions {
  std::string input;  ///< RUN.json or CHART.json; "-": stdin
  std::string svg;    ///< --svg FILE; "-": stdout
};

/// The subcommands of `poolrun report` that setup_report declares on its App.
struct ReportCommands {
  CLI::App* timeline = nullptr;
  CLI::App* chart = nullptr;
};

/// Declares the subcommands timeline and chart and their options on `app` (bound to `o`), for
/// report_main and the completion scripts.
ReportCommands setup_report(CLI::App& app, ReportOptions& o);

/// Handles `poolrun report ...` (argv as main() got it, argv[1] == "report"). `report timeline`
/// reads the --json report RUN.json ("-": stdin), writes the chart to the --svg FILE ("-": stdout)
/// and, when FILE is not stdout, prints the chart's summary line (jobs, wall, utilisation) on stdout.
/// `report chart` reads a line chart description (core/report/chart_json.h; "-": stdin) and writes it as
/// SVG to the --svg FILE ("-": stdout).
/// Returns the exit status: 0, or 255 after one line on stderr ("poolrun: error: report timeline: ...")
/// for bad options, an unreadable or invalid input, or an unwritable FILE.
int report_main(const std::vector<std::string>& argv);

}  // namespace poolrun::app
