// SVG charts: line charts (benchmark figures) and Gantt charts (job timelines). Pure text
// generation, no I/O: each function returns one standalone SVG 1.1 document (xmlns, width, height
// and viewBox set; no scripts, no external fonts or style sheets; generic "sans-serif" font), which
// any browser, image viewer or `rsvg-convert` shows as it is.
#pragma once
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace poolrun::core::plot {

/// One data point, in the chart's own units.
struct Point {
  double x, y;
};

/// One line of a line chart: a label for the legend and its points, drawn in the given order
/// (sort by x first for a function-like line). Points with a NaN or infinite coordinate are left out.
struct Series {
  std::string label;
  std::vector<Point> points;
};

/// A line chart: title above, x_label below the x axis, y_label along the y axis, one coloured
/// line with markers per series, and a legend. With ideal_line, y = x is drawn as a dashed grey
/// reference line (e.g. ideal speed-up against workers), clipped to the plot area.
struct LineChart {
  std::string title, x_label, y_label;
  std::vector<Series> series;
  bool ideal_line = false; /* draws y = x as a dashed reference */
};

/// Renders `chart` as an SVG document (UTF-8 text). Axis ranges cover every finite point and are
/// widened to "nice" tick steps (1, 2, 2.5 or 5 times a power of ten); a range of zero width (all
/// values equal, one point) is widened around the value, and a chart without points gets 0..1 on
/// both axes. Series get distinct colours and marker shapes (after 8 the colours repeat with other
/// markers). All text is XML-escaped; control characters and invalid UTF-8 become U+FFFD.
/// Never throws except std::bad_alloc.
std::string render_line_chart_svg(const LineChart& chart);

/// How a job ended, for the colour of its bar.
enum class BarStatus { succeeded, failed, killed };

/// One bar of a Gantt chart: in row `row` (0-based index into Gantt::rows), from `start` to `end`
/// (x units, normally seconds; end < start is drawn as end == start). `tooltip` is shown by viewers
/// on hover (an SVG <title>); it may contain newlines.
struct GanttBar {
  std::size_t row = 0;
  double start = 0, end = 0;
  BarStatus status = BarStatus::succeeded;
  std::string tooltip;
};

/// A Gantt chart: one horizontal lane per row (labelled on the left, top to bottom in the given
/// order), bars placed on a shared x axis, a summary line under the title, and a legend of the bar
/// colours. x_end, when greater than every bar's end, is where the x axis (and a dashed "end" line)
/// stops, e.g. the end of the run, so that idle time at the end shows.
struct Gantt {
  std::string title, summary, x_label = "seconds since the first job started";
  std::vector<std::string> rows;
  std::vector<GanttBar> bars;
  double x_end = 0;
};

/// Renders `gantt` as an SVG document. Lanes are 22 px high for up to 30 rows and shrink down to
/// 3 px for many rows (labels are then thinned out); bars narrower than half a pixel are drawn half a
/// pixel wide so that very short jobs stay visible. Bars with a row index outside `rows` are left out.
/// Each bar is one <rect class="bar STATUS"> with a <title>; numbers are written with at most 2
/// decimals, so 10 000 bars make a file of about 1-2 MB. Never throws except std::bad_alloc.
std::string render_gantt_svg(const Gantt& gantt);

/// Returns `text` escaped for XML character data and attribute values: & < > " ' become entities;
/// control characters other than tab and newline, and bytes that are not valid UTF-8, become U+FFFD.
std::string xml_escape(std::string_view text);

/// Axis helper: the tick values of a "nice" scale covering [lo, hi] with about `target` ticks
/// (first tick <= lo, last tick >= hi, equal steps of 1, 2, 2.5 or 5 times a power of ten).
/// lo == hi (or non-finite input) is widened first. Returns at least two ticks, ascending.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);

}  // namespace poolrun::core::plot
