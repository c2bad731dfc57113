// `poolrun report SUBCOMMAND ...`: tools that read the reports of earlier runs (docs/reports.md).
//   poolrun report timeline RUN.json --svg FILE   a Gantt chart of a --json report, one lane per job slot
//   poolrun report chart CHART.json --svg FILE    a line chart of measurements described in JSON
#pragma once
#include <string>
#include <vector>

namespace poolrun::app {

/// Handles `poolrun report ...` (argv as main() got it, argv[1] == "report"). `report timeline`
/// reads the --json report RUN.json ("-": stdin), writes the chart to the --svg FILE ("-": stdout)
/// and, when FILE is not stdout, prints the chart's summary line (jobs, wall, utilisation) on stdout.
/// `report chart` reads a line chart description (core/report/chart_json.h; "-": stdin) and writes it as
/// SVG to the --svg FILE ("-": stdout).
/// Returns the exit status: 0, or 255 after one line on stderr ("poolrun: error: report timeline: ...")
/// for bad options, an unreadable or invalid input, or an unwritable FILE.
int report_main(const std::vector<std::string>& argv);

}  // namespace poolrun::app
