// `poolrun report SUBCOMMAND ...`: tools that read the reports of earlier runs (docs/reports.md).
//   poolrun report timeline RUN.json --svg FILE   a Gantt chart of a --json report, one lane per job slot
#pragma once
#include <string>
#include <vector>

namespace poolrun::app {

/// Handles `poolrun report ...` (argv as main() got it, argv[1] == "report"). `report timeline`
/// reads the --json report RUN.json ("-": stdin), writes the chart to the --svg FILE ("-": stdout)
/// and, when FILE is not stdout, prints the chart's summary line (jobs, wall, utilisation) on stdout.
/// Returns the exit status: 0, or 255 after one line on stderr ("poolrun: report timeline: ...")
/// for bad options, an unreadable or invalid report, or an unwritable FILE.
int report_main(const std::vector<std::string>& argv);

}  // namespace poolrun::app
