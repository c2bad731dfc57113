// A line chart from its JSON description. See chart_json.h.
#include "core/report/chart_json.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/errors.h"

namespace poolrun::core {

namespace {

using nlohmann::json;

void only_keys(const json& obj, std::initializer_list<const char*> keys, const std::string& where) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool known = false;
    for (const char* k : keys) known = known || it.key() == k;
    if (!known) throw InputError(fmt::format("{}: unknown key \"{}\"", where, it.key()));
  }
}

std::string opt_string(const json& obj, const char* key, const std::string& where) {
  auto it = obj.find(key);
  if (it == obj.end()) return {};
  if (!it->is_string()) throw InputError(fmt::format("{}: \"{}\" is not a string", where, key));
  return it->get<std::string>();
}

}  // namespace

plot::LineChart line_chart_from_json(std::string_view text, const std::string& name) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    std::string what = e.what();
    auto bracket = what.find("] ");
    if (bracket != std::string::npos) what = what.substr(bracket + 2);
    throw InputError(name + ": not JSON: " + what);
  }
  if (!doc.is_object()) throw InputError(name + ": not a chart (a JSON object with \"series\")");
  only_keys(doc, {"title", "x_label", "y_label", "ideal_line", "series"}, name);
  plot::LineChart c;
  c.title = opt_string(doc, "title", name);
  c.x_label = opt_string(doc, "x_label", name);
  c.y_label = opt_string(doc, "y_label", name);
  if (auto it = doc.find("ideal_line"); it != doc.end()) {
    if (!it->is_boolean()) throw InputError(name + ": \"ideal_line\" is not true or false");
    c.ideal_line = it->get<bool>();
  }
  auto series = doc.find("series");
  if (series == doc.end() || !series->is_array()) throw InputError(name + ": no \"series\" array");
  for (std::size_t i = 0; i < series->size(); ++i) {
    const json& s = (*series)[i];
    std::string where = fmt::format("{}: series[{}]", name, i);
    if (!s.is_object()) throw InputError(where + ": not an object");
    only_keys(s, {"label", "points"}, where);
    plot::Series out{opt_string(s, "label", where), {}};
    auto pts = s.find("points");
    if (pts == s.end() || !pts->is_array()) throw InputError(where + ": no \"points\" array");
    for (std::size_t k = 0; k < pts->size(); ++k) {
      const json& p = (*pts)[k];
      if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_number())
        throw InputError(fmt::format("{}.points[{}]: not [x, y] with two numbers", where, k));
      out.points.push_back({p[0].get<double>(), p[1].get<double>()});
    }
    c.series.push_back(std::move(out));
  }
  return c;
}

}  // namespace poolrun::core
