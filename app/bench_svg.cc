// The --svg plot of `poolrun bench`: speedup against workers, one line per executor, and the ideal
// line S = p. A small self-contained renderer (polylines on linear axes).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "app/bench_cmd.h"

namespace poolrun::app {

namespace {

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      default: o += c;
    }
  }
  return o;
}

}  // namespace

std::string bench_svg(const core::BenchReport& r) {
  const double W = 640, H = 420, L = 60, R = 150, T = 40, B = 50;
  double xmax = 1, ymax = 1;
  for (const auto& c : r.configs) {
    if (!c.speedup) continue;
    xmax = std::max(xmax, static_cast<double>(c.workers));
    ymax = std::max(ymax, *c.speedup);
  }
  ymax = std::max(ymax, std::min(xmax, ymax * 1.5));  // room for the ideal line's start
  ymax = std::ceil(ymax);
  auto X = [&](double x) { return L + (x - 1) / std::max(xmax - 1, 1.0) * (W - L - R); };
  auto Y = [&](double y) { return H - B - y / ymax * (H - T - B); };
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
      "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
      W, H);
  s += fmt::format("<text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">Speedup of {}</text>\n",
                   (W - R + L) / 2, esc(r.workload));
  // Axes, ticks and labels.
  s += fmt::format("<path d=\"M{} {}V{}H{}\" stroke=\"black\" fill=\"none\"/>\n", L, T, H - B, W - R);
  int xstep = std::max(1, static_cast<int>(std::ceil((xmax - 1) / 8)));
  for (int x = 1; x <= xmax; x += xstep)
    s += fmt::format("<text x=\"{:.1f}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n", X(x), H - B + 16, x);
  int ystep = std::max(1, static_cast<int>(std::ceil(ymax / 8)));
  for (int y = 0; y <= ymax; y += ystep)
    s += fmt::format("<text x=\"{}\" y=\"{:.1f}\" text-anchor=\"end\">{}</text>\n", L - 6, Y(y) + 4, y);
  s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">workers p</text>\n", (W - R + L) / 2, H - 12);
  s += fmt::format("<text x=\"16\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 16 {})\">speedup "
                   "T(1)/T(p)</text>\n",
                   (H - B + T) / 2, (H - B + T) / 2);
  // Ideal S = p, clipped to the plot.
  double ix = std::min(xmax, ymax);
  s += fmt::format("<path d=\"M{:.1f} {:.1f}L{:.1f} {:.1f}\" stroke=\"gray\" stroke-dasharray=\"4 4\" "
                   "fill=\"none\"/>\n",
                   X(1), Y(1), X(ix), Y(ix));
  static const char* colours[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"};
  std::vector<std::string> names;
  for (const auto& c : r.configs)
    if (c.speedup && std::find(names.begin(), names.end(), c.executor) == names.end()) names.push_back(c.executor);
  double ly = T + 10;
  s += fmt::format("<path d=\"M{} {}h24\" stroke=\"gray\" stroke-dasharray=\"4 4\"/><text x=\"{}\" y=\"{}\">ideal</text>\n",
                   W - R + 10, ly, W - R + 40, ly + 4);
  for (std::size_t i = 0; i < names.size(); ++i) {
    const char* col = colours[i % 5];
    std::string d;
    for (const auto& c : r.configs) {
      if (c.executor != names[i] || !c.speedup) continue;
      d += fmt::format("{}{:.1f} {:.1f}", d.empty() ? "M" : "L", X(static_cast<double>(c.workers)), Y(*c.speedup));
      s += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"3\" fill=\"{}\"/>\n", X(static_cast<double>(c.workers)),
                       Y(*c.speedup), col);
    }
    s += fmt::format("<path d=\"{}\" stroke=\"{}\" stroke-width=\"2\" fill=\"none\"/>\n", d, col);
    ly += 20;
    s += fmt::format("<path d=\"M{} {}h24\" stroke=\"{}\" stroke-width=\"2\"/><text x=\"{}\" y=\"{}\">{}</text>\n",
                     W - R + 10, ly, col, W - R + 40, ly + 4, esc(names[i]));
  }
  s += "</svg>\n";
  return s;
}

}  // namespace poolrun::app
