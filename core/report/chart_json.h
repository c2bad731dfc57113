// A line chart described in JSON, for charts of measurements made outside poolrun (scripts, docs).
#pragma once
#include <string>
#include <string_view>

#include "core/report/plot.h"

namespace poolrun::core {

/// Parses a line chart spec:
///   {"title": "...", "x_label": "...", "y_label": "...", "ideal_line": false,
///    "series": [{"label": "...", "points": [[x, y], ...]}, ...]}
/// All keys but "series" are optional (empty strings, false); each point is an array of two numbers.
/// `name` names the input in errors. Throws InputError "NAME: ..." for text that is not JSON, a
/// missing or mistyped key (naming it, e.g. "series[1].points[3]") or an unknown key.
plot::LineChart line_chart_from_json(std::string_view json_text, const std::string& name);

}  // namespace poolrun::core
