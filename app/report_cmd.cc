// `poolrun report timeline`: see report_cmd.h.
#include "app/report_cmd.h"

#include "app/help_format.h"
#include "app/messages.h"

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>

#include "core/report/chart_json.h"
#include "core/errors.h"
#include "core/report/plot.h"
#include "core/report/timeline.h"
#include "platform/fd.h"

namespace poolrun::app {

namespace {

int fail(const std::string& sub, const std::string& msg) {
  print_error("report " + sub + ": " + msg);
  return 255;
}

std::string read_input(const std::string& path, const char* what) {
  std::string name = path == "-" ? "<stdin>" : path;
  platform::UniqueFd owned;
  int fd = 0;
  if (path != "-") {
    std::error_code ec;
    owned = platform::open_read(path, ec);
    if (ec) throw InputError(path + ": cannot open the " + what + ": " + ec.message());
    fd = owned.get();
  }
  std::string text;
  if (auto ec = platform::read_file(fd, text)) throw InputError(name + ": cannot read: " + ec.message());
  return text;
}

void write_svg(const std::string& path, const std::string& svg) {
  std::error_code ec;
  if (path == "-") {
    ec = platform::write_all(1, svg);
    if (ec) throw SystemError("<stdout>: cannot write the SVG: " + ec.message());
    return;
  }
  auto fd = platform::open_write(path, false, ec);
  if (ec) throw InputError(path + ": cannot create the SVG file: " + ec.message());
  ec = platform::write_all(fd.get(), svg);
  if (ec) throw InputError(path + ": cannot write the SVG file: " + ec.message());
}

}  // namespace

ReportCommands setup_report(CLI::App& app, ReportOptions& o) {
  app.require_subcommand(1);
  ReportCommands c;
  c.timeline = app.add_subcommand("timeline", "A Gantt chart of a --json report: one lane per job slot, one bar per job");
  c.timeline->add_option("report", o.input, "The report poolrun --json FILE wrote (- : stdin)")
      ->required()
      ->type_name("RUN.json");
  c.timeline->add_option("--svg", o.svg, "Write the chart as SVG to FILE (- : stdout)")->required()->type_name("FILE");
  c.chart = app.add_subcommand(
      "chart", "A line chart of a JSON description: {\"title\", \"x_label\", \"y_label\", \"ideal_line\", "
               "\"series\": [{\"label\", \"points\": [[x, y], ...]}]}");
  c.chart->add_option("spec", o.input, "The chart's JSON description (- : stdin)")->required()->type_name("CHART.json");
  c.chart->add_option("--svg", o.svg, "Write the chart as SVG to FILE (- : stdout)")->required()->type_name("FILE");
  return c;
}

int report_main(const std::vector<std::string>& argv) {
  CLI::App app{"poolrun report: charts of the reports of earlier runs (see docs/reports.md)", "poolrun report"};
  set_help_format(app);
  ReportOptions o;
  ReportCommands cmds = setup_report(app, o);
  const std::string& input = o.input;
  const std::string& svg = o.svg;
  CLI::App* chart = cmds.chart;
  try {
    app.parse(std::vector<std::string>(argv.rbegin(), argv.rend() - 2));  // CLI11 pops from the back
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    const std::string sub = argv.size() >= 3 ? argv[2] : "";
    if (sub == "timeline" || sub == "chart") return fail(sub, parse_error_text(e, "poolrun report " + sub));
    if (!sub.empty() && sub[0] != '-')
      return fail(sub, "no such subcommand; there are: timeline, chart (see poolrun report --help)");
    print_error("report: a subcommand is needed: timeline or chart (see poolrun report --help)");
    return 255;
  }
  const std::string name = input == "-" ? "<stdin>" : input;
  if (chart->parsed()) {
    try {
      write_svg(svg, core::plot::render_line_chart_svg(core::line_chart_from_json(read_input(input, "chart"), name)));
      return 0;
    } catch (const std::exception& e) {
      return fail("chart", e.what());
    }
  }
  try {
    core::Timeline t = core::timeline_from_report(read_input(input, "report"), name);
    write_svg(svg, core::plot::render_gantt_svg(t.gantt));
    if (svg != "-") std::printf("%s: %s\n", svg.c_str(), t.gantt.summary.c_str());
    return 0;
  } catch (const std::exception& e) {
    return fail("timeline", e.what());
  }
}

}  // namespace poolrun::app
