// Tests of core/timeline: a poolrun --json report as a Gantt chart, and the errors for files that
// are not such a report.
#include <catch2/catch.hpp>

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

#include "core/report/chart_json.h"
#include "core/errors.h"
#include "core/report/timeline.h"

using nlohmann::json;
using poolrun::InputError;
using poolrun::core::timeline_from_report;
namespace plot = poolrun::core::plot;

namespace {

json job(int seq, int slot, double start, double end, int exit_code = 0, int signal = 0) {
  return {{"seq", seq},
          {"slot", slot},
          {"items", json::array({std::to_string(seq)})},
          {"command", "sleep " + std::to_string(seq)},
          {"pid", 1000 + seq},
          {"start", start},
          {"end", end},
          {"duration_s", end - start},
          {"exit_code", signal ? -1 : exit_code},
          {"signal", signal},
          {"timed_out", false},
          {"attempts", 1},
          {"user_s", 0},
          {"sys_s", 0},
          {"max_rss_kib", 0},
          {"stdout_bytes", 0},
          {"stderr_bytes", 0},
          {"status", exit_code || signal ? "failed" : "succeeded"}};
}

json report(json jobs, int slots = 2) {
  return {{"tool", "poolrun"},
          {"version", "0.1.0"},
          {"argv", {"poolrun"}},
          {"config", {{"jobs", slots}}},
          {"summary", {{"jobs", jobs.size()}}},
          {"jobs", jobs}};
}

std::string error_of(const std::string& text, const std::string& name = "run.json") {
  try {
    timeline_from_report(text, name);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("a report becomes one lane per slot and one bar per job", "[timeline]") {
  const double t0 = 1764500000.0;
  json jobs = json::array({job(2, 2, t0 + 0.5, t0 + 2.0, 3), job(1, 1, t0 + 0.0, t0 + 1.0),
                           job(3, 1, t0 + 1.0, t0 + 4.0, 0, 9)});
  jobs[1]["command"] = "echo '<&>'";
  auto t = timeline_from_report(report(jobs, 4).dump(), "run.json");
  CHECK(t.stats.jobs == 3);
  CHECK(t.stats.failed == 2);
  CHECK(t.stats.slots == 2);
  CHECK(t.stats.slots_asked == 4);
  CHECK(t.stats.wall == Approx(4.0));
  CHECK(t.stats.busy == Approx(1.5 + 1.0 + 3.0));
  CHECK(t.stats.utilisation == Approx(5.5 / (2 * 4.0)));
  REQUIRE(t.gantt.rows.size() == 2);
  CHECK(t.gantt.rows[0] == "slot 1");
  REQUIRE(t.gantt.bars.size() == 3);
  const auto& b = t.gantt.bars;
  CHECK(b[0].row == 1);
  CHECK(b[0].start == Approx(0.5));
  CHECK(b[0].end == Approx(2.0));
  CHECK(b[0].status == plot::BarStatus::failed);
  CHECK(b[1].row == 0);
  CHECK(b[1].start == Approx(0.0));
  CHECK(b[1].status == plot::BarStatus::succeeded);
  CHECK(b[2].status == plot::BarStatus::killed);
  CHECK(b[0].tooltip.find("#2 on slot 2: sleep 2") == 0);
  CHECK(b[0].tooltip.find("exit 3") != std::string::npos);
  CHECK(b[1].tooltip.find("echo '<&>'") != std::string::npos);
  CHECK(b[2].tooltip.find("killed by signal 9") != std::string::npos);
  CHECK(t.gantt.x_end == Approx(4.0));
  CHECK(t.gantt.summary.find("3 jobs (2 failed) on 2 job slots (of 4 asked for)") == 0);
  CHECK(t.gantt.summary.find("utilisation 68.8 %") != std::string::npos);
  // And it renders.
  std::string svg = plot::render_gantt_svg(t.gantt);
  CHECK(svg.find("&lt;&amp;&gt;") != std::string::npos);
}

TEST_CASE("timeline of an empty run, skipped jobs and long commands", "[timeline]") {
  auto t = timeline_from_report(report(json::array()).dump(), "empty.json");
  CHECK(t.stats.jobs == 0);
  CHECK(t.stats.wall == 0);
  CHECK(t.stats.utilisation == 0);
  CHECK(t.gantt.bars.empty());
  CHECK(!plot::render_gantt_svg(t.gantt).empty());

  json skipped = job(2, 0, 0, 0);
  skipped["status"] = "skipped";
  json longjob = job(1, 1, 10, 10);  // zero duration: wall 0, utilisation 0, no division by zero
  longjob["command"] = std::string(5000, 'x');
  t = timeline_from_report(report(json::array({skipped, longjob})).dump(), "r");
  CHECK(t.stats.jobs == 1);
  CHECK(t.stats.skipped == 1);
  CHECK(t.stats.utilisation == 0);
  REQUIRE(t.gantt.bars.size() == 1);
  CHECK(t.gantt.bars[0].tooltip.size() < 500);
  CHECK(t.gantt.summary.find("1 skipped") != std::string::npos);
}

TEST_CASE("files that are not a poolrun --json report give a clear InputError", "[timeline]") {
  CHECK(error_of("") .rfind("run.json: not JSON: ", 0) == 0);
  CHECK(error_of("{\"tool\": \"poolrun\",").rfind("run.json: not JSON: ", 0) == 0);
  const std::string expects = "; report timeline draws the report of poolrun --json FILE or poolrun batch --json FILE";
  CHECK(error_of("[1, 2]") == "run.json: a JSON array" + expects);
  CHECK(error_of("{\"tool\": \"other\", \"jobs\": []}") ==
        "run.json: a batch spec or another tool's report (no \"tool\": \"poolrun\")" + expects);
  CHECK(error_of("{\"tool\": \"poolrun\"}") == "run.json: a poolrun report without a \"jobs\" array" + expects);
  CHECK(error_of("{\"tool\": \"poolrun\", \"mode\": \"map\", \"chunks\": []}") ==
        "run.json: a --map report (one record per chunk, \"mode\": \"map\")" + expects);
  CHECK(error_of("{\"schema\": \"poolrun-bench/1\", \"configs\": []}") == "run.json: a poolrun bench --json report" + expects);
  std::string jsonl = job(1, 1, 1, 2).dump() + "\n" + job(2, 1, 2, 3).dump() + "\n";
  CHECK(error_of(jsonl, "run.jsonl") == "run.jsonl: a --jsonl file" + expects);
  json r = report(json::array({job(1, 1, 1, 2), job(2, 1, 2, 3)}));
  r["jobs"][1].erase("start");
  CHECK(error_of(r.dump()) == "run.json: jobs[1]: no \"start\" (not a poolrun --json report?)");
  r["jobs"][1]["start"] = "soon";
  CHECK(error_of(r.dump()) == "run.json: jobs[1]: \"start\" is not a number");
  r["jobs"][1]["start"] = 2.0;
  r["jobs"][1]["slot"] = -1;
  CHECK(error_of(r.dump()) == "run.json: jobs[1]: \"slot\" -1 is out of range");
  r["jobs"][1] = 7;
  CHECK(error_of(r.dump()) == "run.json: jobs[1]: not an object");
}

TEST_CASE("line_chart_from_json reads a chart description and names what is wrong", "[timeline]") {
  auto c = poolrun::core::line_chart_from_json(
      R"({"title": "t", "x_label": "x", "y_label": "y", "ideal_line": true,
          "series": [{"label": "a", "points": [[1, 2], [3, 4.5]]}, {"points": []}]})",
      "c.json");
  CHECK(c.title == "t");
  CHECK(c.ideal_line);
  REQUIRE(c.series.size() == 2);
  CHECK(c.series[0].label == "a");
  REQUIRE(c.series[0].points.size() == 2);
  CHECK(c.series[0].points[1].x == 3);
  CHECK(c.series[0].points[1].y == 4.5);
  CHECK(c.series[1].points.empty());
  auto err = [](const std::string& text) {
    try {
      poolrun::core::line_chart_from_json(text, "c.json");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  CHECK(err("nope").rfind("c.json: not JSON: ", 0) == 0);
  CHECK(err("{}") == "c.json: no \"series\" array");
  CHECK(err(R"({"series": [], "colour": 1})") == "c.json: unknown key \"colour\"");
  CHECK(err(R"({"series": [], "title": 3})") == "c.json: \"title\" is not a string");
  CHECK(err(R"({"series": [{"points": [[1, 2], [3]]}]})") == "c.json: series[0].points[1]: not [x, y] with two numbers");
  CHECK(err(R"({"series": [{"label": "a"}]})") == "c.json: series[0]: no \"points\" array");
}
