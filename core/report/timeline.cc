// A poolrun --json report as a Gantt chart. See timeline.h.
#include "core/report/timeline.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "core/errors.h"

namespace poolrun::core {

namespace {

using nlohmann::json;

constexpr std::size_t kMaxCommand = 300;

/// The first line of `text` parses as a JSON object with a "seq": a --jsonl job record.
bool looks_like_jsonl(std::string_view text) {
  std::size_t nl = text.find('\n');
  if (nl == std::string_view::npos || nl + 1 >= text.size()) return false;
  json first = json::parse(text.substr(0, nl), nullptr, false);
  return first.is_object() && (first.contains("seq") || first.contains("summary"));
}

/// Member `key` of job record `i`, checked with `ok`; throws InputError naming the record otherwise.
template <class Check>
const json& field(const json& job, std::size_t i, const char* key, const char* type, Check ok,
                  const std::string& name) {
  auto it = job.find(key);
  if (it == job.end())
    throw InputError(fmt::format("{}: jobs[{}]: no \"{}\" (not a poolrun --json report?)", name, i, key));
  if (!ok(*it)) throw InputError(fmt::format("{}: jobs[{}]: \"{}\" is not {}", name, i, key, type));
  return *it;
}

std::string seconds(double s) {
  if (s < 1) return fmt::format("{:.3f} s", s);
  if (s < 100) return fmt::format("{:.2f} s", s);
  return fmt::format("{:.0f} s", s);
}

constexpr const char* kExpected = "report timeline draws the report of poolrun --json FILE or poolrun batch --json FILE";

/// What `doc`, a JSON value that is not a run report, is, in a few words ("a --map report", "a
/// JSON array"), for the error that says what the timeline got.
std::string what_document_is(const json& doc) {
  if (!doc.is_object()) {
    if (doc.is_array()) return "a JSON array";
    if (doc.is_string()) return "a JSON string";
    if (doc.is_number()) return "a JSON number";
    if (doc.is_boolean()) return "a JSON boolean";
    return "JSON null";
  }
  const bool ours = doc.value("tool", json()) == "poolrun";
  if (ours && doc.value("mode", json()) == "map") return "a --map report (one record per chunk, \"mode\": \"map\")";
  if (doc.value("schema", json()).is_string() && doc["schema"].get<std::string>().rfind("poolrun-bench/", 0) == 0)
    return "a poolrun bench --json report";
  if (doc.contains("series") && doc.contains("title")) return "a chart description (for poolrun report chart)";
  if (!ours && doc.contains("jobs") && doc["jobs"].is_array()) return "a batch spec or another tool's report (no \"tool\": \"poolrun\")";
  if (!ours) return "a JSON object without \"tool\": \"poolrun\"";
  if (doc.contains("mode") && doc["mode"].is_string())
    return "a poolrun report of mode \"" + doc["mode"].get<std::string>() + "\"";
  return "a poolrun report without a \"jobs\" array";
}

}  // namespace

Timeline timeline_from_report(std::string_view text, const std::string& name) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception& e) {
    if (looks_like_jsonl(text))
      throw InputError(name + ": a --jsonl file; " + kExpected);
    std::string what = e.what();
    auto bracket = what.find("] ");  // drop nlohmann's "[json.exception.parse_error.101] " prefix
    if (bracket != std::string::npos) what = what.substr(bracket + 2);
    throw InputError(name + ": not JSON: " + what);
  }
  // A run report (the main job's or batch's) has "tool": "poolrun", no "mode" and a "jobs" array.
  auto jobs_it = doc.is_object() ? doc.find("jobs") : doc.end();
  if (!doc.is_object() || doc.value("tool", json()) != "poolrun" || doc.contains("mode") || jobs_it == doc.end() ||
      !jobs_it->is_array())
    throw InputError(name + ": " + what_document_is(doc) + "; " + kExpected);
  const json& jobs = *jobs_it;

  auto is_int = [](const json& v) { return v.is_number_integer(); };
  auto is_num = [](const json& v) { return v.is_number() && std::isfinite(v.get<double>()); };
  auto is_str = [](const json& v) { return v.is_string(); };

  struct Rec {
    long long seq, slot, exit_code, signal;
    double start, end;
    bool failed, timed_out;
    const json* job;
  };
  std::vector<Rec> recs;
  recs.reserve(jobs.size());
  Timeline t;
  TimelineStats& st = t.stats;
  double t0 = std::numeric_limits<double>::infinity(), t1 = -t0;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    const json& j = jobs[i];
    if (!j.is_object()) throw InputError(fmt::format("{}: jobs[{}]: not an object", name, i));
    Rec r{};
    r.seq = field(j, i, "seq", "an integer", is_int, name).get<long long>();
    r.slot = field(j, i, "slot", "an integer", is_int, name).get<long long>();
    r.start = field(j, i, "start", "a number", is_num, name).get<double>();
    r.end = field(j, i, "end", "a number", is_num, name).get<double>();
    r.exit_code = field(j, i, "exit_code", "an integer", is_int, name).get<long long>();
    r.signal = field(j, i, "signal", "an integer", is_int, name).get<long long>();
    const std::string& status = field(j, i, "status", "a string", is_str, name).get_ref<const std::string&>();
    field(j, i, "command", "a string", is_str, name);
    if (r.slot < 0 || r.slot > 1000000)
      throw InputError(fmt::format("{}: jobs[{}]: \"slot\" {} is out of range", name, i, r.slot));
    r.failed = status == "failed" || r.exit_code != 0 || r.signal != 0;
    r.timed_out = j.value("timed_out", false) == true;
    r.job = &j;
    if (r.slot == 0 || status == "skipped") {
      ++st.skipped;
      continue;
    }
    if (r.end < r.start) r.end = r.start;
    t0 = std::min(t0, r.start);
    t1 = std::max(t1, r.end);
    recs.push_back(r);
  }

  st.jobs = recs.size();
  for (const Rec& r : recs) {
    st.slots = std::max<std::size_t>(st.slots, static_cast<std::size_t>(r.slot));
    st.busy += r.end - r.start;
    if (r.failed) ++st.failed;
  }
  if (auto c = doc.find("config"); c != doc.end() && c->is_object())
    if (auto jj = c->find("jobs"); jj != c->end() && jj->is_number_integer() && jj->get<long long>() > 0)
      st.slots_asked = jj->get<std::size_t>();
  st.wall = recs.empty() ? 0 : t1 - t0;
  st.utilisation = st.wall > 0 && st.slots > 0 ? st.busy / (static_cast<double>(st.slots) * st.wall) : 0;

  plot::Gantt& g = t.gantt;
  g.title = "poolrun timeline: " + name;
  for (std::size_t s = 1; s <= st.slots; ++s) g.rows.push_back(fmt::format("slot {}", s));
  g.x_end = st.wall;
  g.bars.reserve(recs.size());
  for (const Rec& r : recs) {
    const json& j = *r.job;
    plot::GanttBar b;
    b.row = static_cast<std::size_t>(r.slot - 1);
    b.start = r.start - t0;
    b.end = r.end - t0;
    b.status = r.signal > 0 ? plot::BarStatus::killed : r.failed ? plot::BarStatus::failed : plot::BarStatus::succeeded;
    std::string command = j["command"].get<std::string>();
    if (command.size() > kMaxCommand) {
      std::size_t cut = kMaxCommand;
      while (cut > 0 && (static_cast<unsigned char>(command[cut]) & 0xC0) == 0x80) --cut;  // whole UTF-8 characters
      command = command.substr(0, cut) + "…";
    }
    std::string label = fmt::format("#{}", r.seq);
    if (auto n = j.find("name"); n != j.end() && n->is_string()) label += " " + n->get<std::string>();
    std::string how = r.signal > 0            ? fmt::format("killed by signal {}", r.signal)
                      : j.contains("spawn_error") && j["spawn_error"].is_string()
                          ? "could not start: " + j["spawn_error"].get<std::string>()
                          : fmt::format("exit {}", r.exit_code);
    if (r.timed_out) how += " (timed out)";
    b.tooltip = fmt::format("{} on slot {}: {}\nstart +{}, duration {}, {}", label, r.slot, command,
                            seconds(b.start), seconds(r.end - r.start), how);
    g.bars.push_back(std::move(b));
  }
  std::string slots = fmt::format("{} job slot{}", st.slots, st.slots == 1 ? "" : "s");
  if (st.slots_asked > st.slots) slots += fmt::format(" (of {} asked for)", st.slots_asked);
  g.summary = fmt::format("{} job{}{} on {}, {} wall, utilisation {:.1f} % (busy time / (slots × wall))", st.jobs,
                          st.jobs == 1 ? "" : "s", st.failed ? fmt::format(" ({} failed)", st.failed) : "",
                          slots, seconds(st.wall), st.utilisation * 100);
  if (st.skipped) g.summary += fmt::format("; {} skipped", st.skipped);
  return t;
}

}  // namespace poolrun::core
