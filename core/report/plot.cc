// SVG line charts and Gantt charts. See plot.h.
#include "core/report/plot.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>

namespace poolrun::core::plot {

namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

/// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not valid.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = byte(i);
  std::size_t n;
  std::uint32_t cp;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) { n = 2; cp = c & 0x1F; }
  else if (c >= 0xE0 && c <= 0xEF) { n = 3; cp = c & 0x0F; }
  else if (c >= 0xF0 && c <= 0xF4) { n = 4; cp = c & 0x07; }
  else return 0;
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;  // overlong
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;                                           // surrogate
  if (cp == 0xFFFE || cp == 0xFFFF) return 0;  // not XML characters
  return n;
}

/// Writes a coordinate or length with at most 2 decimals and no trailing zeros ("12.5", "3").
void put_num(std::string& out, double v) {
  if (!std::isfinite(v)) v = 0;
  double r = std::round(v * 100) / 100;
  if (r == 0) r = 0;  // no "-0"
  if (r == std::floor(r) && std::abs(r) < 1e15) {
    char buf[24];
    auto res = fmt::format_to_n(buf, sizeof buf, "{}", static_cast<long long>(r));
    out.append(buf, std::min(res.size, sizeof buf));
    return;
  }
  char buf[64];
  auto res = fmt::format_to_n(buf, sizeof buf, "{:.2f}", r);
  std::size_t n = std::min(res.size, sizeof buf);
  while (n > 0 && buf[n - 1] == '0') --n;
  if (n > 0 && buf[n - 1] == '.') --n;
  out.append(buf, n);
}

std::string num(double v) {
  std::string s;
  put_num(s, v);
  return s;
}

/// Tick label: as many decimals as the tick step needs (step 0.25 -> 2, step 5 -> 0).
std::string tick_label(double v, double step) {
  int decimals = 0;
  if (step > 0 && step < 1) decimals = std::min(9, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
  if (step > 0 && std::abs(step * std::pow(10, decimals) - std::round(step * std::pow(10, decimals))) > 1e-6)
    ++decimals;  // 0.25 needs 2 where log10 says 1
  if (std::abs(v) < step * 1e-9) v = 0;
  if (std::abs(v) >= 1e7 || (v != 0 && std::abs(v) < 1e-6)) return fmt::format("{:g}", v);
  return fmt::format("{:.{}f}", v, decimals);
}

double nice_step(double raw) {
  double mag = std::pow(10, std::floor(std::log10(raw)));
  double f = raw / mag;
  double nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
  return nice * mag;
}

/// A linear scale from data [lo, hi] to pixels [p0, p1].
struct Scale {
  double lo, hi, p0, p1;
  double operator()(double v) const { return p0 + (v - lo) / (hi - lo) * (p1 - p0); }
};

/// Rough width in pixels of `text` in a sans-serif font of `size` px (for layout only).
double text_width(std::string_view text, double size) {
  std::size_t chars = 0;
  for (unsigned char c : text)
    if ((c & 0xC0) != 0x80) ++chars;
  return static_cast<double>(chars) * size * 0.58;
}

void open_svg(std::string& out, double width, double height, std::string_view title) {
  out += R"(<?xml version="1.0" encoding="UTF-8"?>)";
  out += '\n';
  fmt::format_to(std::back_inserter(out),
                 R"(<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{0}" height="{1}" )"
                 R"(viewBox="0 0 {0} {1}" font-family="sans-serif" font-size="12">)",
                 num(width), num(height));
  out += '\n';
  fmt::format_to(std::back_inserter(out), "<title>{}</title>\n", xml_escape(title));
  fmt::format_to(std::back_inserter(out), R"(<rect width="{}" height="{}" fill="#ffffff"/>)", num(width),
                 num(height));
  out += '\n';
}

void text(std::string& out, double x, double y, std::string_view s, std::string_view attrs = {}) {
  fmt::format_to(std::back_inserter(out), R"(<text x="{}" y="{}"{}{}>{}</text>)", num(x), num(y),
                 attrs.empty() ? "" : " ", attrs, xml_escape(s));
  out += '\n';
}

// Colour-blind-friendly palette (Okabe-Ito, with black last), then the colours repeat.
constexpr const char* kColours[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                    "#E69F00", "#56B4E9", "#F0E442", "#000000"};
constexpr std::size_t kNumColours = sizeof(kColours) / sizeof(kColours[0]);

/// Draws marker number `shape` (circle, square, triangle, diamond) centred at (x, y), with a
/// tooltip when `tip` is not empty.
void marker(std::string& out, std::size_t shape, double x, double y, const char* colour,
            std::string_view tip = {}) {
  std::size_t begin = out.size();
  const double r = 4;
  switch (shape % 4) {
    case 0:
      fmt::format_to(std::back_inserter(out), R"(<circle cx="{}" cy="{}" r="{}" fill="{}"/>)", num(x), num(y),
                     num(r), colour);
      break;
    case 1:
      fmt::format_to(std::back_inserter(out), R"(<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>)",
                     num(x - r), num(y - r), num(2 * r), num(2 * r), colour);
      break;
    case 2:
      fmt::format_to(std::back_inserter(out), R"(<polygon points="{},{} {},{} {},{}" fill="{}"/>)", num(x),
                     num(y - r - 1), num(x + r + 0.5), num(y + r), num(x - r - 0.5), num(y + r), colour);
      break;
    default:
      fmt::format_to(std::back_inserter(out), R"(<polygon points="{},{} {},{} {},{} {},{}" fill="{}"/>)",
                     num(x), num(y - r - 1), num(x + r + 1), num(y), num(x), num(y + r + 1), num(x - r - 1),
                     num(y), colour);
  }
  if (!tip.empty()) {  // <circle .../> -> <circle ...><title>tip</title></circle>
    std::string_view elem = std::string_view(out).substr(begin + 1);
    elem = elem.substr(0, elem.find(' '));
    std::string close = fmt::format("><title>{}</title></{}>", xml_escape(tip), elem);
    out.replace(out.size() - 2, 2, close);
  }
  out += '\n';
}


const char* bar_colour(BarStatus s) {
  return s == BarStatus::succeeded ? "#4C78A8" : s == BarStatus::failed ? "#E45756" : "#F58518";
}
const char* bar_class(BarStatus s) {
  return s == BarStatus::succeeded ? "succeeded" : s == BarStatus::failed ? "failed" : "killed";
}
const char* bar_legend(BarStatus s) {
  return s == BarStatus::succeeded ? "succeeded" : s == BarStatus::failed ? "failed (exit status not 0)"
                                                                          : "killed by a signal";
}

}  // namespace

std::string xml_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '&': out += "&amp;"; ++i; continue;
      case '<': out += "&lt;"; ++i; continue;
      case '>': out += "&gt;"; ++i; continue;
      case '"': out += "&quot;"; ++i; continue;
      case '\'': out += "&apos;"; ++i; continue;
      default: break;
    }
    if (c < 0x20 && c != '\t' && c != '\n') {
      out += kReplacement;
      ++i;
      continue;
    }
    std::size_t n = utf8_sequence(s, i);
    if (n == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    out.append(s.substr(i, n));
    i += n;
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (lo > hi) std::swap(lo, hi);
  if (hi - lo <= std::max(std::abs(lo), std::abs(hi)) * 1e-12) {  // zero width: widen around the value
    double pad = lo == 0 ? 1 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  lo = std::max(lo, -1e300), hi = std::min(hi, 1e300);  // hi - lo stays finite
  target = std::clamp(target, 2, 100);
  double step = nice_step((hi - lo) / target);
  double first = std::floor(lo / step + 1e-9) * step;
  double last = std::ceil(hi / step - 1e-9) * step;
  std::vector<double> ticks;
  double steps = (last - first) / step;
  if (!std::isfinite(first) || !std::isfinite(last) || !(steps >= 1 && steps <= 1000)) return {lo, hi};
  auto n = static_cast<long>(std::llround(steps));
  for (long i = 0; i <= n; ++i) ticks.push_back(first + static_cast<double>(i) * step);
  if (ticks.size() < 2) ticks.push_back(first + step);
  return ticks;
}

std::string render_line_chart_svg(const LineChart& chart) {
  // Data ranges over the finite points.
  double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
  for (const auto& s : chart.series)
    for (const auto& p : s.points) {
      if (!std::isfinite(p.x) || !std::isfinite(p.y)) continue;
      xmin = std::min(xmin, p.x), xmax = std::max(xmax, p.x);
      ymin = std::min(ymin, p.y), ymax = std::max(ymax, p.y);
    }
  if (xmin > xmax) xmin = 0, xmax = 1, ymin = 0, ymax = 1;
  // A y axis of non-negative values starts at 0 (speed-ups, times, rates) unless that hides the data.
  if (ymin > 0 && ymin < ymax && ymin <= 0.5 * ymax) ymin = 0;
  std::vector<double> xt = nice_ticks(xmin, xmax), yt = nice_ticks(ymin, ymax);

  // Layout: the legend on the right, as wide as its longest label.
  double legend_w = 0;
  std::vector<std::string> labels;
  for (std::size_t i = 0; i < chart.series.size(); ++i)
    labels.push_back(chart.series[i].label.empty() ? fmt::format("series {}", i + 1) : chart.series[i].label);
  if (chart.ideal_line) labels.push_back("ideal (y = x)");
  for (const auto& l : labels) legend_w = std::max(legend_w, text_width(l, 12));
  legend_w = labels.empty() ? 20 : std::clamp(legend_w + 70, 130.0, 380.0);
  const double plot_w = 560, plot_h = 340, left = 80, top = 50, bottom = 60;
  const double width = left + plot_w + legend_w, height = top + plot_h + bottom;
  Scale sx{xt.front(), xt.back(), left, left + plot_w};
  Scale sy{yt.front(), yt.back(), top + plot_h, top};

  std::string out;
  open_svg(out, width, height, chart.title);
  text(out, width / 2, 28, chart.title, R"(text-anchor="middle" font-size="16" font-weight="bold")");

  // Grid, axes, ticks, labels.
  out += R"(<g stroke="#e0e0e0" stroke-width="1">)";
  out += '\n';
  for (double t : xt)
    fmt::format_to(std::back_inserter(out), R"(<line x1="{0}" y1="{1}" x2="{0}" y2="{2}"/>)", num(sx(t)), num(top),
                   num(top + plot_h));
  for (double t : yt)
    fmt::format_to(std::back_inserter(out), R"(<line x1="{1}" y1="{0}" x2="{2}" y2="{0}"/>)", num(sy(t)),
                   num(left), num(left + plot_w));
  out += "</g>\n";
  fmt::format_to(std::back_inserter(out),
                 R"(<g stroke="#333333" stroke-width="1"><line x1="{0}" y1="{1}" x2="{2}" y2="{1}"/>)"
                 R"(<line x1="{0}" y1="{3}" x2="{0}" y2="{1}"/>)",
                 num(left), num(top + plot_h), num(left + plot_w), num(top));
  for (double t : xt)
    fmt::format_to(std::back_inserter(out), R"(<line x1="{0}" y1="{1}" x2="{0}" y2="{2}"/>)", num(sx(t)),
                   num(top + plot_h), num(top + plot_h + 5));
  for (double t : yt)
    fmt::format_to(std::back_inserter(out), R"(<line x1="{1}" y1="{0}" x2="{2}" y2="{0}"/>)", num(sy(t)),
                   num(left - 5), num(left));
  out += "</g>\n<g class=\"ticks\" fill=\"#333333\">\n";
  double xstep = xt[1] - xt[0], ystep = yt[1] - yt[0];
  for (double t : xt) text(out, sx(t), top + plot_h + 19, tick_label(t, xstep), R"(text-anchor="middle")");
  for (double t : yt) text(out, left - 8, sy(t) + 4, tick_label(t, ystep), R"(text-anchor="end")");
  out += "</g>\n";
  text(out, left + plot_w / 2, top + plot_h + 45, chart.x_label, R"(text-anchor="middle" font-size="13")");
  fmt::format_to(std::back_inserter(out),
                 "<text x=\"0\" y=\"0\" transform=\"translate(22,{}) rotate(-90)\" text-anchor=\"middle\" "
                 "font-size=\"13\">{}</text>",
                 num(top + plot_h / 2), xml_escape(chart.y_label));
  out += '\n';

  // Plot area clip, ideal line, series.
  fmt::format_to(std::back_inserter(out),
                 R"(<defs><clipPath id="plot-area"><rect x="{}" y="{}" width="{}" height="{}"/></clipPath></defs>)",
                 num(left - 6), num(top - 6), num(plot_w + 12), num(plot_h + 12));
  out += "\n<g clip-path=\"url(#plot-area)\">\n";
  if (chart.ideal_line) {
    double lo = std::min(sx.lo, sy.lo), hi = std::max(sx.hi, sy.hi);
    fmt::format_to(std::back_inserter(out),
                   R"(<line class="ideal" x1="{}" y1="{}" x2="{}" y2="{}" stroke="#888888" stroke-width="1.5" )"
                   R"(stroke-dasharray="6,4"/>)",
                   num(sx(lo)), num(sy(lo)), num(sx(hi)), num(sy(hi)));
    out += '\n';
  }
  for (std::size_t i = 0; i < chart.series.size(); ++i) {
    const char* colour = kColours[i % kNumColours];
    fmt::format_to(std::back_inserter(out), R"(<g class="series" fill="{0}" stroke="{0}">)", colour);
    out += '\n';
    fmt::format_to(std::back_inserter(out), "<title>{}</title>\n", xml_escape(labels[i]));
    std::string pts;
    for (const auto& p : chart.series[i].points) {
      if (!std::isfinite(p.x) || !std::isfinite(p.y)) continue;
      if (!pts.empty()) pts += ' ';
      put_num(pts, sx(p.x));
      pts += ',';
      put_num(pts, sy(p.y));
    }
    if (!pts.empty())
      fmt::format_to(std::back_inserter(out), R"(<polyline points="{}" fill="none" stroke-width="2"/>)", pts);
    out += '\n';
    for (const auto& p : chart.series[i].points) {
      if (!std::isfinite(p.x) || !std::isfinite(p.y)) continue;
      marker(out, i / kNumColours + i, sx(p.x), sy(p.y), colour,
             fmt::format("{}: x = {:g}, y = {:g}", labels[i], p.x, p.y));
    }
    out += "</g>\n";
  }
  out += "</g>\n";

  // Legend.
  out += "<g class=\"legend\">\n";
  double lx = left + plot_w + 20, ly = top + 10;
  for (std::size_t i = 0; i < labels.size(); ++i, ly += 22) {
    bool ideal = chart.ideal_line && i == labels.size() - 1;
    const char* colour = ideal ? "#888888" : kColours[i % kNumColours];
    fmt::format_to(std::back_inserter(out),
                   R"(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="{}" stroke-width="{}"{}/>)", num(lx), num(ly),
                   num(lx + 28), num(ly), colour, ideal ? "1.5" : "2",
                   ideal ? R"( stroke-dasharray="6,4")" : "");
    out += '\n';
    if (!ideal) marker(out, i / kNumColours + i, lx + 14, ly, colour);
    text(out, lx + 36, ly + 4, labels[i]);
  }
  out += "</g>\n</svg>\n";
  return out;
}

std::string render_gantt_svg(const Gantt& gantt) {
  const std::size_t n = gantt.rows.size();
  double x_end = std::isfinite(gantt.x_end) ? std::max(gantt.x_end, 0.0) : 0.0;
  double x_first = 0;
  for (const auto& b : gantt.bars) {
    if (b.row >= n) continue;
    if (std::isfinite(b.end)) x_end = std::max(x_end, b.end);
    if (std::isfinite(b.start)) x_end = std::max(x_end, b.start), x_first = std::min(x_first, b.start);
  }
  std::vector<double> xt = nice_ticks(x_first, x_end > x_first ? x_end : x_first + 1, 10);

  // Lanes shrink with many rows; labels are thinned so that they keep ~12 px apart.
  const double row_h = n <= 30 ? 22 : std::max(3.0, 660.0 / static_cast<double>(n));
  std::size_t label_every = static_cast<std::size_t>(std::ceil(13.0 / row_h));
  double label_w = 0;
  for (std::size_t r = 0; r < n; r += label_every) label_w = std::max(label_w, text_width(gantt.rows[r], 11));
  const double left = std::clamp(label_w + 16, 60.0, 220.0), plot_w = 880, right = 30;
  const double top = 84, bottom = 52, plot_h = row_h * static_cast<double>(std::max<std::size_t>(n, 1));
  const double width = left + plot_w + right, height = top + plot_h + bottom;
  Scale sx{xt.front(), xt.back(), left, left + plot_w};
  const double bar_pad = row_h >= 8 ? std::min(3.0, row_h * 0.15) : 0;

  std::string out;
  out.reserve(4096 + gantt.bars.size() * 160);
  open_svg(out, width, height, gantt.title);
  text(out, 12, 24, gantt.title, R"(font-size="16" font-weight="bold")");
  text(out, 12, 44, gantt.summary, R"(class="summary" fill="#333333")");

  // Legend: bar colours.
  out += "<g class=\"legend\">\n";
  double lx = 12;
  for (BarStatus s : {BarStatus::succeeded, BarStatus::failed, BarStatus::killed}) {
    fmt::format_to(std::back_inserter(out), R"(<rect x="{}" y="56" width="14" height="12" fill="{}"/>)", num(lx),
                   bar_colour(s));
    text(out, lx + 19, 66, bar_legend(s));
    lx += 19 + text_width(bar_legend(s), 12) + 16;
  }
  out += "</g>\n";

  // Lanes (alternating shades, so that idle time in a lane shows), grid, labels.
  out += "<g class=\"lanes\">\n";
  for (std::size_t r = 0; r < n; ++r)
    fmt::format_to(std::back_inserter(out), R"(<rect x="{}" y="{}" width="{}" height="{}" fill="{}"/>)", num(left),
                   num(top + row_h * static_cast<double>(r)), num(plot_w), num(row_h), r % 2 ? "#eef0f3" : "#f7f8fa");
  out += "</g>\n<g stroke=\"#d0d0d0\" stroke-width=\"1\">\n";
  for (double t : xt)
    fmt::format_to(std::back_inserter(out), R"(<line x1="{0}" y1="{1}" x2="{0}" y2="{2}"/>)", num(sx(t)), num(top),
                   num(top + plot_h + 5));
  out += "</g>\n<g class=\"rows\" font-size=\"11\" fill=\"#333333\" text-anchor=\"end\">\n";
  for (std::size_t r = 0; r < n; r += label_every)
    text(out, left - 6, top + row_h * (static_cast<double>(r) + 0.5) + 4, gantt.rows[r]);
  out += "</g>\n<g class=\"ticks\" fill=\"#333333\" text-anchor=\"middle\">\n";
  double step = xt[1] - xt[0];
  for (double t : xt) text(out, sx(t), top + plot_h + 19, tick_label(t, step));
  out += "</g>\n";
  text(out, left + plot_w / 2, top + plot_h + 42, gantt.x_label, R"(text-anchor="middle" font-size="13")");

  // Bars, one group per status so that each colour is written once.
  for (BarStatus s : {BarStatus::succeeded, BarStatus::failed, BarStatus::killed}) {
    // A thin white outline separates jobs that follow each other without a gap in one lane.
    fmt::format_to(std::back_inserter(out), R"(<g fill="{}" stroke="#ffffff" stroke-width="{}">)", bar_colour(s),
                   row_h >= 8 ? "0.75" : "0.25");
    out += '\n';
    for (const auto& b : gantt.bars) {
      if (b.status != s || b.row >= n) continue;
      double x0 = sx(std::isfinite(b.start) ? b.start : 0);
      double x1 = sx(std::isfinite(b.end) ? std::max(b.end, b.start) : 0);
      out += R"(<rect class="bar )";
      out += bar_class(s);
      out += R"(" x=")";
      put_num(out, x0);
      out += R"(" y=")";
      put_num(out, top + row_h * static_cast<double>(b.row) + bar_pad);
      out += R"(" width=")";
      put_num(out, std::max(x1 - x0, 0.5));
      out += R"(" height=")";
      put_num(out, row_h - 2 * bar_pad);
      if (b.tooltip.empty()) {
        out += "\"/>\n";
      } else {
        out += "\"><title>";
        out += xml_escape(b.tooltip);
        out += "</title></rect>\n";
      }
    }
    out += "</g>\n";
  }

  // Axis and the end line (everything after the last bar in a lane is idle time).
  fmt::format_to(std::back_inserter(out),
                 R"(<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="#333333" stroke-width="1"/>)", num(left),
                 num(top + plot_h), num(left + plot_w));
  out += '\n';
  fmt::format_to(std::back_inserter(out),
                 R"(<line class="end" x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#333333" stroke-width="1" )"
                 R"(stroke-dasharray="4,3"><title>end: {3} s</title></line>)",
                 num(sx(x_end)), num(top - 4), num(top + plot_h), tick_label(x_end, 0.001));
  out += "\n</svg>\n";
  return out;
}

}  // namespace poolrun::core::plot
