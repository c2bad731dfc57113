#include "core/batch/batch.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <system_error>

#include "core/errors.h"
#include "core/batch/junit.h"
#include "core/input/quote.h"
#include "core/units.h"
#include "platform/host.h"
#include "platform/system.h"

namespace poolrun::core {

namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// ---------------------------------------------------------------------------------------------
// Messages

/// How a value appears after "got": scalars as JSON text (long strings cut), containers by kind.
std::string describe(const json& v) {
  switch (v.type()) {
    case json::value_t::object: return v.empty() ? "an empty object" : "an object";
    case json::value_t::array: return v.empty() ? "an empty list" : "a list";
    case json::value_t::string: {
      const auto& s = v.get_ref<const std::string&>();
      if (s.empty()) return "an empty string";
      if (s.size() > 40) return json(s.substr(0, 37)).dump(-1, ' ', false, json::error_handler_t::replace) + "...";
      return v.dump(-1, ' ', false, json::error_handler_t::replace);
    }
    default: return v.dump();
  }
}

std::string json_quote(const std::string& s) { return json(s).dump(-1, ' ', false, json::error_handler_t::replace); }

/// Edit distance (Levenshtein), for "did you mean" hints.
std::size_t distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

/// " (did you mean "x"?)" when one candidate is close to `word`, else "".
template <typename Range>
std::string suggest(const std::string& word, const Range& candidates) {
  const std::size_t limit = word.size() <= 3 ? 1 : 2;
  std::size_t best = limit + 1;
  std::string pick;
  for (const auto& c : candidates) {
    std::size_t d = distance(word, c);
    if (d < best) {
      best = d;
      pick = c;
    }
  }
  return pick.empty() ? "" : " (did you mean " + json_quote(pick) + "?)";
}

/// A JSON path member: ".name" for identifiers, "[\"a b\"]" otherwise.
std::string member(const std::string& key) {
  bool ident = !key.empty() && !(key[0] >= '0' && key[0] <= '9');
  for (char c : key)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '$'))
      ident = false;
  return ident ? "." + key : "[" + json_quote(key) + "]";
}

/// Where a value is: a JSON path ("jobs[3].timeout"), or for JSON Lines a line number and the
/// path inside that line's object ("line 4: timeout").
struct Loc {
  std::string base;    // "jobs[3]", "line 4", or "" for the top level
  bool lines = false;  // base is a line: members follow ": "
  std::string at(const std::string& key) const {
    if (base.empty()) return key;
    std::string m = member(key);
    if (lines) return base + ": " + (m[0] == '.' ? m.substr(1) : m);
    return base + m;
  }
};

class Checker {
 public:
  explicit Checker(const std::string& source) : source_(source) {}

  [[noreturn]] void fail(const std::string& path, const std::string& what) const {
    throw InputError(source_ + ": " + (path.empty() ? "" : path + ": ") + what);
  }
  [[noreturn]] void expected(const std::string& path, const std::string& what, const json& got) const {
    fail(path, "expected " + what + ", got " + describe(got));
  }

  void only_keys(const json& obj, const std::string& path, const std::vector<std::string>& known) const {
    for (const auto& [key, v] : obj.items()) {
      if (std::find(known.begin(), known.end(), key) != known.end()) continue;
      std::string list;
      for (const auto& k : known) {
        if (k[0] == '$') continue;
        list += (list.empty() ? "" : ", ") + k;
      }
      fail(path, "unknown key " + json_quote(key) + suggest(key, known) + "; expected one of: " + list);
    }
  }

  std::string string(const json& v, const std::string& path, const std::string& what) const {
    if (!v.is_string() || v.get_ref<const std::string&>().empty()) expected(path, what, v);
    const auto& s = v.get_ref<const std::string&>();
    if (s.find('\0') != std::string::npos) fail(path, "contains a NUL byte, which no command can receive");
    return s;
  }

  double duration(const json& v, const std::string& path) const {
    const std::string what = "a duration like \"30s\", \"1.5m\" or a number of seconds";
    if (v.is_number()) {
      double d = v.get<double>();
      if (!std::isfinite(d) || d < 0) expected(path, what, v);
      return d;
    }
    if (!v.is_string()) expected(path, what, v);
    try {
      return parse_duration(v.get_ref<const std::string&>());
    } catch (const UsageError&) {
      expected(path, what, v);
    }
  }

  std::size_t attempts(const json& v, const std::string& path) const {
    if (!v.is_number_unsigned()) expected(path, "a whole number of attempts like 3", v);
    return v.get<std::size_t>();
  }

  bool boolean(const json& v, const std::string& path) const {
    if (!v.is_boolean()) expected(path, "true or false", v);
    return v.get<bool>();
  }

  std::map<std::string, std::optional<std::string>> env(const json& v, const std::string& path) const {
    if (!v.is_object()) expected(path, "an object of variables like {\"NAME\": \"value\"}", v);
    std::map<std::string, std::optional<std::string>> out;
    for (const auto& [name, val] : v.items()) {
      std::string p = path + member(name);
      if (name.empty() || name.find('=') != std::string::npos || name.find('\0') != std::string::npos)
        fail(p, "a variable name cannot be empty or contain '=' or a NUL byte");
      if (val.is_null()) {
        out[name] = std::nullopt;
      } else {
        if (!val.is_string()) expected(p, "a string (or null to remove the variable)", val);
        const auto& s = val.get_ref<const std::string&>();
        if (s.find('\0') != std::string::npos) fail(p, "contains a NUL byte, which no command can receive");
        out[name] = s;
      }
    }
    return out;
  }

  const std::string& source() const { return source_; }

 private:
  std::string source_;
};

// ---------------------------------------------------------------------------------------------
// JSON text with duplicate keys found (nlohmann keeps the last one silently).

/// Tracks the path of the value being parsed through the SAX-like callback, and remembers the
/// first key that appears twice in one object.
class DuplicateKeys {
 public:
  explicit DuplicateKeys(Loc base) : base_(std::move(base)) {}

  bool on(int /*depth*/, json::parse_event_t ev, json& parsed) {
    switch (ev) {
      case json::parse_event_t::object_start: frames_.push_back({true}); break;
      case json::parse_event_t::array_start: frames_.push_back({false}); break;
      case json::parse_event_t::key: {
        Frame& f = frames_.back();
        f.key = parsed.get<std::string>();
        if (!f.keys.insert(f.key).second && found_.empty()) found_ = path() + ": key " + json_quote(f.key) + " appears twice";
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        frames_.pop_back();
        value_done();
        break;
      case json::parse_event_t::value: value_done(); break;
    }
    return true;
  }

  /// "" or the message for the first duplicate key.
  const std::string& found() const { return found_; }

 private:
  struct Frame {
    bool object;
    std::set<std::string> keys{};
    std::string key{};
    std::size_t index = 0;
  };
  void value_done() {
    if (!frames_.empty() && !frames_.back().object) ++frames_.back().index;
  }
  std::string path() const {
    // The path of the object holding the key: every enclosing frame's current position.
    Loc loc = base_;
    std::string p = loc.base;
    bool first = true;
    for (std::size_t i = 0; i + 1 < frames_.size(); ++i) {
      const Frame& f = frames_[i];
      if (f.object) {
        std::string m = member(f.key);
        if (p.empty()) p = m[0] == '.' ? m.substr(1) : m;
        else if (first && loc.lines) p += ": " + (m[0] == '.' ? m.substr(1) : m);
        else p += m;
      } else {
        p += "[" + std::to_string(f.index) + "]";
      }
      first = false;
    }
    return p.empty() ? "top level" : p;
  }

  Loc base_;
  std::vector<Frame> frames_;
  std::string found_;
};

/// Parses `text` as one JSON value. Throws InputError for invalid JSON or a duplicate key.
json parse_json(std::string_view text, const Loc& where, const Checker& ck, bool one_line) {
  DuplicateKeys dups(where);
  json v;
  try {
    v = json::parse(text.begin(), text.end(),
                    [&](int depth, json::parse_event_t ev, json& parsed) { return dups.on(depth, ev, parsed); });
  } catch (const json::parse_error& e) {
    std::string msg = e.what();
    auto close = msg.find("] ");
    if (close != std::string::npos) msg.erase(0, close + 2);
    if (one_line) {
      auto l = msg.find("at line 1, column ");
      if (l != std::string::npos) msg.replace(l, 18, "at column ");
    }
    ck.fail(where.base, "invalid JSON: " + msg);
  }
  if (!dups.found().empty()) throw InputError(ck.source() + ": " + dups.found());
  return v;
}

// ---------------------------------------------------------------------------------------------
// The spec

const std::vector<std::string> kTopKeys = {"$schema", "parallel", "timeout", "retries", "env",
                                           "cwd",     "shell",    "jobs"};
const std::vector<std::string> kJobKeys = {"name",    "cmd",   "needs",   "env",          "cwd",
                                           "timeout", "retries", "shell", "allow_failure"};

struct Defaults {
  std::map<std::string, std::optional<std::string>> env;
  std::string cwd;
};

void check_name(const Checker& ck, const std::string& path, const std::string& name) {
  bool bad = name == "." || name == ".." || name.size() > 200;
  for (unsigned char c : name)
    if (c == '/' || c == '\\' || c < 0x20 || c == 0x7f) bad = true;
  if (bad)
    ck.fail(path, json_quote(name) +
                      ": a job name is used as a directory name (--results): it may not contain '/', '\\' "
                      "or control characters, be \".\" or \"..\", or be longer than 200 bytes");
}

BatchJob parse_job(const Checker& ck, const json& obj, const Loc& loc, const Defaults& d,
                   std::vector<std::string>& need_names) {
  if (!obj.is_object()) ck.expected(loc.base, "a job object like {\"name\": \"build\", \"cmd\": \"make\"}", obj);
  ck.only_keys(obj, loc.base, kJobKeys);
  BatchJob job;
  job.where = loc.base;
  if (!obj.contains("name")) ck.fail(loc.base, "missing \"name\" (every job needs a unique name)");
  job.name = ck.string(obj["name"], loc.at("name"), "a job name (a non-empty string)");
  check_name(ck, loc.at("name"), job.name);
  if (!obj.contains("cmd")) ck.fail(loc.base, "missing \"cmd\" (the command to run)");
  const json& cmd = obj["cmd"];
  const std::string cmd_what = "a command: a string for the shell, or a list of program and arguments";
  if (cmd.is_string()) {
    job.shell_cmd = ck.string(cmd, loc.at("cmd"), cmd_what);
  } else if (cmd.is_array()) {
    if (cmd.empty()) ck.expected(loc.at("cmd"), cmd_what, cmd);
    for (std::size_t i = 0; i < cmd.size(); ++i) {
      const std::string p = loc.at("cmd") + "[" + std::to_string(i) + "]";
      if (!cmd[i].is_string()) ck.expected(p, "a string", cmd[i]);
      const auto& s = cmd[i].get_ref<const std::string&>();
      if (s.find('\0') != std::string::npos) ck.fail(p, "contains a NUL byte, which no command can receive");
      if (i == 0 && s.empty()) ck.expected(p, "a program name or path", cmd[i]);
      job.argv.push_back(s);
    }
  } else {
    ck.expected(loc.at("cmd"), cmd_what, cmd);
  }
  job.env = d.env;
  if (obj.contains("env"))
    for (auto& [k, v] : ck.env(obj["env"], loc.at("env"))) job.env[k] = v;
  job.cwd = obj.contains("cwd") ? ck.string(obj["cwd"], loc.at("cwd"), "a directory (a non-empty string)") : d.cwd;
  if (obj.contains("shell")) job.shell = ck.string(obj["shell"], loc.at("shell"), "a shell like \"/bin/sh\"");
  if (obj.contains("timeout")) job.timeout_s = ck.duration(obj["timeout"], loc.at("timeout"));
  if (obj.contains("retries")) job.retries = ck.attempts(obj["retries"], loc.at("retries"));
  if (obj.contains("allow_failure")) job.allow_failure = ck.boolean(obj["allow_failure"], loc.at("allow_failure"));
  if (obj.contains("needs")) {
    const json& n = obj["needs"];
    if (!n.is_array()) ck.expected(loc.at("needs"), "a list of job names like [\"build\"]", n);
    for (std::size_t i = 0; i < n.size(); ++i) {
      const std::string p = loc.at("needs") + "[" + std::to_string(i) + "]";
      std::string name = ck.string(n[i], p, "a job name (a non-empty string)");
      if (std::find(need_names.begin(), need_names.end(), name) != need_names.end())
        ck.fail(p, json_quote(name) + " is listed twice");
      need_names.push_back(name);
    }
  }
  return job;
}

/// Finds a dependency cycle; returns the jobs on it ("a needs b needs ... needs a"), or empty.
std::vector<std::size_t> find_cycle(const std::vector<BatchJob>& jobs) {
  enum Color : unsigned char { White, Gray, Black };
  std::vector<Color> color(jobs.size(), White);
  for (std::size_t root = 0; root < jobs.size(); ++root) {
    if (color[root] != White) continue;
    // Iterative depth-first search: (job, next need to visit).
    std::vector<std::pair<std::size_t, std::size_t>> stack{{root, 0}};
    color[root] = Gray;
    while (!stack.empty()) {
      auto& [j, k] = stack.back();
      if (k == jobs[j].needs.size()) {
        color[j] = Black;
        stack.pop_back();
        continue;
      }
      std::size_t n = jobs[j].needs[k++];
      if (color[n] == Gray) {
        std::vector<std::size_t> cycle;
        auto it = std::find_if(stack.begin(), stack.end(), [&](const auto& e) { return e.first == n; });
        for (; it != stack.end(); ++it) cycle.push_back(it->first);
        // Start at the job that comes first in the spec, so the message does not depend on
        // where the search happened to enter the cycle.
        std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());
        return cycle;
      }
      if (color[n] == White) {
        color[n] = Gray;
        stack.emplace_back(n, 0);
      }
    }
  }
  return {};
}

void link_jobs(const Checker& ck, std::vector<BatchJob>& jobs, const std::vector<std::vector<std::string>>& needs) {
  std::unordered_map<std::string, std::size_t> by_name;
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    auto [it, fresh] = by_name.emplace(jobs[i].name, i);
    if (!fresh) {
      const BatchJob& first = jobs[it->second];
      std::string where = (first.where.rfind("line ", 0) == 0 ? "the job on " : "") + first.where;
      Loc loc{jobs[i].where, jobs[i].where.rfind("line ", 0) == 0};
      ck.fail(loc.at("name"), json_quote(jobs[i].name) + " is already the name of " + where);
    }
  }
  std::vector<std::string> names;
  for (const auto& j : jobs) names.push_back(j.name);
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    Loc loc{jobs[i].where, jobs[i].where.rfind("line ", 0) == 0};
    for (std::size_t k = 0; k < needs[i].size(); ++k) {
      auto it = by_name.find(needs[i][k]);
      if (it == by_name.end())
        ck.fail(loc.at("needs") + "[" + std::to_string(k) + "]",
                "no job is named " + json_quote(needs[i][k]) + suggest(needs[i][k], names));
      jobs[i].needs.push_back(it->second);
    }
  }
  auto cycle = find_cycle(jobs);
  if (!cycle.empty()) {
    // One line, however long the cycle and the names: a long cycle shows its first jobs, its last
    // one and how many it has in all (a generated spec may have 100 000 jobs on one cycle).
    constexpr std::size_t kShownFirst = 4, kLongName = 60;
    auto shown = [&](std::size_t j) {
      const std::string& n = jobs[j].name;
      return n.size() <= kLongName ? n : n.substr(0, kLongName - 3) + "...";
    };
    std::string msg = "dependency cycle";
    if (cycle.size() > kShownFirst + 2) msg += " of " + std::to_string(cycle.size()) + " jobs";
    msg += ": ";
    for (std::size_t k = 0; k < cycle.size(); ++k) {
      if (cycle.size() > kShownFirst + 2 && k == kShownFirst) {
        msg += "... -> ";
        k = cycle.size() - 1;
      }
      msg += shown(cycle[k]) + " -> ";
    }
    msg += shown(cycle.front()) + " (each job needs the next)";
    ck.fail("", msg);
  }
}

bool blank(std::string_view line) {
  return line.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

}  // namespace

BatchSpec parse_batch_spec(std::string_view text, const std::string& source) {
  Checker ck(source);
  BatchSpec spec;
  spec.source = source;
  std::vector<std::vector<std::string>> needs;

  // A document, or JSON Lines? A text that parses as one value is a document, unless it is a
  // single job object (JSON Lines with one line). Otherwise, if its first line is an object on
  // its own, it is JSON Lines; if not, the document's parse error is the one to report.
  bool lines = false;
  json doc;
  if (blank(text)) {
    lines = true;
  } else {
    bool whole = json::accept(text.begin(), text.end());
    if (whole) {
      json probe = json::parse(text.begin(), text.end(), nullptr, false);
      if (probe.is_object() && !probe.contains("jobs") && (probe.contains("name") || probe.contains("cmd"))) {
        // One job object, perhaps spread over several lines: JSON Lines with one job.
        lines = true;
        std::size_t line_no = 1;
        for (std::size_t k = 0; k < text.size() && text[k] != '{'; ++k)
          if (text[k] == '\n') ++line_no;
        Loc loc{"line " + std::to_string(line_no), true};
        json obj = parse_json(text, loc, ck, false);
        std::vector<std::string> need_names;
        spec.jobs.push_back(parse_job(ck, obj, loc, Defaults{}, need_names));
        needs.push_back(std::move(need_names));
        text = {};  // nothing more to read
      } else {
        doc = parse_json(text, Loc{}, ck, false);
      }
    } else {
      std::string_view first = text.substr(0, text.find('\n'));
      std::size_t skip = 0;
      while (blank(first) && skip + first.size() < text.size()) {
        skip += first.size() + 1;
        first = text.substr(skip, text.substr(skip).find('\n'));
      }
      bool first_is_job = json::accept(first.begin(), first.end());
      if (first_is_job) {
        json f = json::parse(first.begin(), first.end(), nullptr, false);
        first_is_job = f.is_object() && !f.contains("jobs");
      }
      if (!first_is_job) parse_json(text, Loc{}, ck, false);  // throws the document's error
      lines = true;
    }
  }
  spec.json_lines = lines;

  if (lines) {
    std::size_t line_no = 0, pos = 0;
    while (pos <= text.size()) {
      std::size_t nl = text.find('\n', pos);
      std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
      pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
      ++line_no;
      if (blank(line)) continue;
      Loc loc{"line " + std::to_string(line_no), true};
      json obj = parse_json(line, loc, ck, true);
      needs.emplace_back();
      spec.jobs.push_back(parse_job(ck, obj, loc, Defaults{}, needs.back()));
    }
  } else {
    if (!doc.is_object())
      ck.expected("", "a JSON object with a \"jobs\" list (or JSON Lines: one job object per line)", doc);
    ck.only_keys(doc, "", kTopKeys);
    Defaults d;
    if (doc.contains("$schema") && !doc["$schema"].is_string()) ck.expected("$schema", "a string", doc["$schema"]);
    if (doc.contains("parallel")) {
      const json& p = doc["parallel"];
      const std::string what = "a number of job slots: 4, \"50%\", \"+1\", \"-1\", or 0 for as many as possible";
      if (p.is_number_unsigned()) {
        spec.parallel = std::to_string(p.get<std::uint64_t>());
      } else if (p.is_string()) {
        try {
          parse_jobs(p.get_ref<const std::string&>(), 1);
        } catch (const UsageError&) {
          ck.expected("parallel", what, p);
        }
        spec.parallel = p.get<std::string>();
      } else {
        ck.expected("parallel", what, p);
      }
    }
    if (doc.contains("timeout")) spec.timeout_s = ck.duration(doc["timeout"], "timeout");
    if (doc.contains("retries")) spec.retries = ck.attempts(doc["retries"], "retries");
    if (doc.contains("shell")) spec.shell = ck.string(doc["shell"], "shell", "a shell like \"/bin/sh\"");
    if (doc.contains("env")) d.env = ck.env(doc["env"], "env");
    if (doc.contains("cwd")) d.cwd = ck.string(doc["cwd"], "cwd", "a directory (a non-empty string)");
    if (!doc.contains("jobs")) ck.fail("", "missing \"jobs\" (the list of jobs to run)");
    const json& jobs = doc["jobs"];
    if (!jobs.is_array()) ck.expected("jobs", "a list of job objects", jobs);
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      Loc loc{"jobs[" + std::to_string(i) + "]", false};
      needs.emplace_back();
      spec.jobs.push_back(parse_job(ck, jobs[i], loc, d, needs.back()));
    }
  }
  link_jobs(ck, spec.jobs, needs);
  return spec;
}

// ---------------------------------------------------------------------------------------------
// BatchSource

namespace {

std::string command_line(const BatchJob& job) {
  if (!job.direct()) return job.shell_cmd;
  std::string line;
  for (const auto& a : job.argv) {
    if (!line.empty()) line += ' ';
    line += shell_quote(a);
  }
  return line;
}

/// `name` looked up in `path_var` as execvp would, in the parent. Names with a '/' are taken as
/// given (relative to the job's cwd). Relative PATH entries are skipped: they would be relative
/// to the job's cwd, which the shell fallback handles correctly. "" when not found.
std::string find_program(const std::string& name, const std::string& path_var) {
  if (name.find('/') != std::string::npos) return name;
  std::size_t start = 0;
  for (;;) {
    std::size_t end = path_var.find(':', start);
    std::string dir = path_var.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!dir.empty() && dir[0] == '/') {
      std::string cand = dir + "/" + name;
      if (!platform::resolve_executable(cand).empty()) return cand;
    }
    if (end == std::string::npos) return "";
    start = end + 1;
  }
}

std::string format_duration(double s) {
  if (s < 60) return fmt::format("{:.2f}s", s);
  auto total = static_cast<long long>(s + 0.5);
  if (total < 3600) return fmt::format("{}m{:02}s", total / 60, total % 60);
  return fmt::format("{}h{:02}m{:02}s", total / 3600, total / 60 % 60, total % 60);
}

void write_small_file(const std::string& path, const std::string& text) {
  std::error_code ec;
  auto fd = platform::open_write(path, false, ec);
  if (!ec) ec = platform::write_all(fd.get(), text);
  if (ec) spdlog::error("{}: cannot write: {}", path, ec.message());
}

}  // namespace

BatchSource::BatchSource(const BatchSpec& spec, BatchSourceOptions opt)
    : spec_(spec), opt_(std::move(opt)) {
  const std::size_t n = spec.jobs.size();
  state_.assign(n, State::Waiting);
  waiting_on_.resize(n);
  dependents_.resize(n);
  outcomes_.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    by_name_.emplace(spec.jobs[i].name, i);
    waiting_on_[i] = spec.jobs[i].needs.size();
    for (std::size_t d : spec.jobs[i].needs) dependents_[d].push_back(i);
    if (waiting_on_[i] == 0) {
      state_[i] = State::Ready;
      ready_.push(i);
    }
  }
  // Resolve each shell once; a missing shell is an error before anything runs.
  std::map<std::string, Shell> resolved;
  for (const auto& job : spec.jobs) {
    std::string shell = !job.shell.empty() ? job.shell : !spec.shell.empty() ? spec.shell : opt_.default_shell;
    auto it = resolved.find(shell);
    if (it == resolved.end()) {
      Shell found = Shell::find(shell);
      if (found.path.empty()) {
        std::string where = !job.shell.empty() ? Loc{job.where, spec.json_lines}.at("shell") + ": "
                            : !spec.shell.empty() ? std::string("shell: ")
                                                  : std::string();
        throw InputError(spec.source + ": " + where + "shell " + json_quote(shell) + " not found or not executable");
      }
      it = resolved.emplace(shell, std::move(found)).first;
    }
    shells_.push_back(it->second);
  }
  base_env_ = platform::environment();
}

BatchSource::~BatchSource() = default;

std::size_t BatchSource::index_of(const std::string& name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) throw std::logic_error("batch: unknown job '" + name + "'");
  return it->second;
}

std::string BatchSource::job_dir(std::size_t i) const {
  return (fs::path(opt_.capture_dir) / spec_.jobs[i].name).string();
}

void BatchSource::prepare_capture_dir() {
  if (opt_.capture_dir.empty()) return;
  for (std::size_t i = 0; i < spec_.jobs.size(); ++i) {
    std::error_code ec;
    fs::path dir = job_dir(i);
    fs::create_directories(dir, ec);
    if (ec) throw InputError(dir.string() + ": cannot create the results directory: " + ec.message());
    for (const char* f : {"stdout", "stderr", "seq", "exit", "record.json"}) {
      fs::remove(dir / f, ec);
      if (ec) throw InputError((dir / f).string() + ": cannot remove the file of an earlier run: " + ec.message());
    }
  }
}

JobSource::Status BatchSource::next(JobSpec& out) {
  if (ready_.empty()) return handed_ == spec_.jobs.size() ? Status::End : Status::Pending;
  const std::size_t i = ready_.top();
  ready_.pop();
  state_[i] = State::Handed;
  ++handed_;
  const BatchJob& job = spec_.jobs[i];
  out = JobSpec{};
  out.name = job.name;
  out.input.seq = next_seq_++;
  out.command = command_line(job);
  out.allow_failure = job.allow_failure;
  for (std::size_t n : job.needs) {
    if (state_[n] == State::Failed || state_[n] == State::Skipped) {
      out.skip_reason = "needs '" + spec_.jobs[n].name + "', which " +
                        (state_[n] == State::Failed ? "failed" : "was skipped");
      break;
    }
  }
  if (opt_.dry_run && out.skip_reason.empty()) {
    // Nothing runs and the engine will not report an end: count it as succeeded now, so that the
    // jobs that need it are listed too.
    state_[i] = State::Succeeded;
    release_dependents(i);
  }
  return Status::Job;
}

std::vector<std::string> BatchSource::job_env(const BatchJob& job) const {
  std::vector<std::string> env;
  env.reserve(base_env_.size() + job.env.size());
  std::set<std::string> replaced;
  for (const auto& kv : base_env_) {
    std::string name = kv.substr(0, kv.find('='));
    auto it = job.env.find(name);
    if (it == job.env.end()) {
      env.push_back(kv);
    } else if (replaced.insert(name).second && it->second) {
      env.push_back(name + "=" + *it->second);
    }
  }
  for (const auto& [name, value] : job.env)
    if (value && !replaced.count(name)) env.push_back(name + "=" + *value);
  return env;
}

void BatchSource::prepare(JobSpec& out) {
  const std::size_t i = index_of(out.name);
  const BatchJob& job = spec_.jobs[i];
  out.command = command_line(job);
  if (!job.env.empty()) out.env = job_env(job);
  std::string exe;
  if (job.direct()) {
    // The program is looked up on the job's own PATH when its env sets one.
    std::string path_var = "/usr/local/bin:/usr/bin:/bin";
    const auto& env = out.env ? *out.env : base_env_;
    for (const auto& kv : env)
      if (kv.rfind("PATH=", 0) == 0) path_var = kv.substr(5);
    exe = find_program(job.argv[0], path_var);
  }
  // A shell command, or a program not found on PATH: the shell runs it (a builtin such as `cd`
  // works, a missing program gets the shell's "not found" and exit status 127).
  shell_or_direct(shells_[i], exe, out.command, [&] { return job.argv; }, out.path, out.argv);
  out.cwd = job.cwd;
  out.timeout_s = job.timeout_s;
  out.retries = job.retries;
  out.allow_failure = job.allow_failure;
}

void BatchSource::release_dependents(std::size_t i) {
  for (std::size_t d : dependents_[i]) {
    if (--waiting_on_[d] == 0 && state_[d] == State::Waiting) {
      state_[d] = State::Ready;
      ready_.push(d);
    }
  }
}

void BatchSource::job_done(const JobSpec& spec, bool succeeded) {
  const std::size_t i = index_of(spec.name);
  State st = !spec.skip_reason.empty() ? State::Skipped : succeeded ? State::Succeeded : State::Failed;
  state_[i] = st;
  outcomes_[i].state = st == State::Skipped     ? BatchOutcome::State::Skipped
                       : st == State::Succeeded ? BatchOutcome::State::Succeeded
                                                : BatchOutcome::State::Failed;
  release_dependents(i);
}

void BatchSource::job_recorded(const JobRecord& rec) { record(rec); }

void BatchSource::record(const JobRecord& rec) {
  const std::size_t i = index_of(rec.name);
  outcomes_[i].record = rec;
  if (opt_.capture_dir.empty() || opt_.dry_run) return;
  fs::path dir = job_dir(i);
  if (rec.status != "skipped") {
    int status = rec.signal ? 128 + rec.signal : rec.exit_code;
    write_small_file((dir / "exit").string(), std::to_string(status) + "\n");
  }
  write_small_file((dir / "record.json").string(), Reports::job_json(rec) + "\n");
}

std::string BatchSource::banner(const JobRecord& rec) const {
  if (!opt_.headers) return {};
  if (rec.status == "skipped") return fmt::format("=== {}: skipped ({}) ===\n", rec.name, rec.reason);
  std::string what;
  if (rec.failed()) {
    what = "failed (" + failure_words(rec);
    const std::size_t i = index_of(rec.name);
    if (spec_.jobs[i].allow_failure) what += ", allowed";
    what += ")";
  } else {
    what = "succeeded";
  }
  std::string attempts = rec.attempts > 1 ? fmt::format(" (attempt {})", rec.attempts) : "";
  return fmt::format("=== {}: {} in {}{} ===\n", rec.name, what, format_duration(rec.duration_s), attempts);
}

std::optional<std::string> BatchSource::captured(std::size_t index, int stream, std::size_t max_bytes,
                                                 std::uint64_t& omitted) const {
  omitted = 0;
  if (opt_.capture_dir.empty()) return std::nullopt;
  std::error_code ec;
  auto fd = platform::open_read((fs::path(job_dir(index)) / (stream == 0 ? "stdout" : "stderr")).string(), ec);
  if (ec) return std::string();  // never started: no output
  std::string out;
  // Keep only the tail: the end of a log is where a failure shows. A read error keeps what came.
  (void)platform::read_file(fd.get(), out, max_bytes, &omitted);
  return out;
}

}  // namespace poolrun::core
