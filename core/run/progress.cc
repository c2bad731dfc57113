#include "core/run/progress.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace poolrun::core {

namespace {
std::string duration(double s) {
  if (s < 60) return fmt::format("{:.0f}s", s);
  if (s < 3600) return fmt::format("{:.0f}m{:02.0f}s", std::floor(s / 60), std::fmod(s, 60));
  return fmt::format("{:.0f}h{:02.0f}m", std::floor(s / 3600), std::fmod(s / 60, 60));
}
}  // namespace

std::string format_progress(const ProgressState& st, bool eta, bool bar, std::size_t width) {
  double rate = st.elapsed_s > 0 ? static_cast<double>(st.done) / st.elapsed_s : 0.0;
  std::string counts = st.total ? fmt::format("done {}/{}", st.done, *st.total) : fmt::format("done {}", st.done);
  if (st.failed) counts += fmt::format(" ({} failed)", st.failed);
  std::string line = fmt::format("{}, {} running, {:.1f} jobs/s", counts, st.running, rate);
  if (eta) {
    if (st.total && rate > 0) {
      double left = static_cast<double>(*st.total > st.done ? *st.total - st.done : 0) / rate;
      line += " ETA " + duration(left);
    } else {
      line += " ETA ?";
    }
  }
  if (bar && st.total) {
    double frac = *st.total ? std::min(1.0, static_cast<double>(st.done) / static_cast<double>(*st.total)) : 1.0;
    std::size_t room = width > line.size() + 8 ? width - line.size() - 8 : 10;
    std::size_t cells = std::clamp<std::size_t>(room, 10, 50);
    std::size_t full = static_cast<std::size_t>(frac * static_cast<double>(cells));
    line = fmt::format("[{}{}] {:3.0f}% ", std::string(full, '#'), std::string(cells - full, '-'),
                       frac * 100.0) + line;
  }
  if (line.size() > width && width > 3) line = line.substr(0, width - 1);
  return line;
}

}  // namespace poolrun::core
