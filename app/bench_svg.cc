// The --svg plot of `poolrun bench`: speedup against workers, one line per executor, with the
// ideal line S = p, drawn by core/report/plot.h.
#include <string>
#include <vector>

#include "app/bench_cmd.h"
#include "core/report/plot.h"

namespace poolrun::app {

std::string bench_svg(const core::BenchReport& r) {
  core::plot::LineChart chart;
  chart.title = "poolrun bench " + r.workload + ": speedup";
  chart.x_label = "workers p";
  chart.y_label = "speedup S(p) = T(1) / T(p)";
  chart.ideal_line = true;
  for (const auto& c : r.configs) {
    if (!c.speedup) continue;
    core::plot::Series* s = nullptr;
    for (auto& x : chart.series)
      if (x.label == c.executor) s = &x;
    if (!s) {
      chart.series.push_back({c.executor, {}});
      s = &chart.series.back();
    }
    s->points.push_back({static_cast<double>(c.workers), *c.speedup});
  }
  return core::plot::render_line_chart_svg(chart);
}

}  // namespace poolrun::app
