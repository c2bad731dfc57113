// Tests of core/batch (spec parsing and checking, BatchSource scheduling) and core/junit.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/batch/batch.h"
#include "core/errors.h"
#include "core/batch/junit.h"

using poolrun::InputError;
using poolrun::core::BatchSource;
using poolrun::core::BatchSourceOptions;
using poolrun::core::BatchSpec;
using poolrun::core::JobRecord;
using poolrun::core::JobSource;
using poolrun::core::JobSpec;
using poolrun::core::JUnitCase;
using poolrun::core::JUnitSuite;
using poolrun::core::parse_batch_spec;
using poolrun::core::xml_escape;

namespace {

/// The message parse_batch_spec throws for `text` (read as "s.json"), or "" if it accepts it.
std::string error_of(const std::string& text) {
  try {
    parse_batch_spec(text, "s.json");
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

/// A document with the given jobs (each a JSON object text).
std::string doc(const std::vector<std::string>& jobs, const std::string& top = "") {
  std::string s = "{" + top + (top.empty() ? "" : ", ") + "\"jobs\": [";
  for (std::size_t i = 0; i < jobs.size(); ++i) s += (i ? ", " : "") + jobs[i];
  return s + "]}";
}

/// Drains every job that is ready now; returns their names (skipped ones as "name!").
std::vector<std::string> take_ready(BatchSource& src, std::vector<JobSpec>* specs = nullptr) {
  std::vector<std::string> names;
  for (;;) {
    JobSpec j;
    auto st = src.next(j);
    if (st != JobSource::Status::Job) break;
    names.push_back(j.name + (j.skip_reason.empty() ? "" : "!"));
    if (specs) specs->push_back(j);
  }
  return names;
}

using Names = std::vector<std::string>;

}  // namespace

TEST_CASE("batch spec: a document with top-level defaults", "[batch]") {
  BatchSpec s = parse_batch_spec(R"({
    "$schema": "https://example.invalid/batch.schema.json",
    "parallel": "50%", "timeout": "30s", "retries": 2, "shell": "/bin/sh",
    "env": {"CI": "1", "DROP": null}, "cwd": "/tmp",
    "jobs": [
      {"name": "build", "cmd": "make -j"},
      {"name": "test", "cmd": ["ctest", "--output-on-failure"], "needs": ["build"],
       "env": {"CI": "2", "X": "y"}, "cwd": "/", "timeout": 1.5, "retries": 3, "allow_failure": true}
    ]})",
                                 "ci.json");
  CHECK(s.source == "ci.json");
  CHECK_FALSE(s.json_lines);
  CHECK(s.parallel == std::optional<std::string>("50%"));
  CHECK(s.timeout_s == std::optional<double>(30));
  CHECK(s.retries == std::optional<std::size_t>(2));
  CHECK(s.shell == "/bin/sh");
  REQUIRE(s.jobs.size() == 2);
  const auto& b = s.jobs[0];
  CHECK(b.name == "build");
  CHECK(b.where == "jobs[0]");
  CHECK(b.shell_cmd == "make -j");
  CHECK_FALSE(b.direct());
  CHECK(b.cwd == "/tmp");  // the default
  CHECK(b.env.at("CI") == std::optional<std::string>("1"));
  CHECK(b.env.at("DROP") == std::nullopt);
  CHECK_FALSE(b.timeout_s);  // defaults stay in the spec: the command line may override them
  CHECK_FALSE(b.retries);
  CHECK(b.needs.empty());
  const auto& t = s.jobs[1];
  CHECK(t.direct());
  CHECK(t.argv == std::vector<std::string>{"ctest", "--output-on-failure"});
  CHECK(t.needs == std::vector<std::size_t>{0});
  CHECK(t.env.at("CI") == std::optional<std::string>("2"));  // the job's value wins
  CHECK(t.env.at("X") == std::optional<std::string>("y"));
  CHECK(t.env.count("DROP") == 1);
  CHECK(t.cwd == "/");
  CHECK(t.timeout_s == std::optional<double>(1.5));
  CHECK(t.retries == std::optional<std::size_t>(3));
  CHECK(t.allow_failure);
}

TEST_CASE("batch spec: JSON Lines, one job object per line", "[batch]") {
  BatchSpec s = parse_batch_spec("{\"name\": \"a\", \"cmd\": \"echo a\"}\n\n  \r\n"
                                 "{\"name\": \"b\", \"cmd\": [\"echo\", \"b\"], \"needs\": [\"a\"]}\r\n",
                                 "<stdin>");
  CHECK(s.json_lines);
  REQUIRE(s.jobs.size() == 2);
  CHECK(s.jobs[0].where == "line 1");
  CHECK(s.jobs[1].where == "line 4");
  CHECK(s.jobs[1].needs == std::vector<std::size_t>{0});

  // One job object, even spread over lines, is JSON Lines with one job.
  BatchSpec one = parse_batch_spec("\n{\"name\": \"a\",\n \"cmd\": \"true\"}\n", "x");
  CHECK(one.json_lines);
  REQUIRE(one.jobs.size() == 1);
  CHECK(one.jobs[0].where == "line 2");

  // Nothing at all: no jobs, not an error.
  CHECK(parse_batch_spec("", "x").jobs.empty());
  CHECK(parse_batch_spec(" \n\n", "x").jobs.empty());
  CHECK(parse_batch_spec(R"({"jobs": []})", "x").jobs.empty());
}

TEST_CASE("batch spec: durations and job slots", "[batch]") {
  auto timeout = [](const std::string& v) {
    return parse_batch_spec(doc({R"({"name": "a", "cmd": "x", "timeout": )" + v + "}"}), "s").jobs[0].timeout_s.value();
  };
  CHECK(timeout("\"30s\"") == 30);
  CHECK(timeout("\"1.5m\"") == 90);
  CHECK(timeout("\"300ms\"") == Approx(0.3));
  CHECK(timeout("\"2\"") == 2);
  CHECK(timeout("2.5") == 2.5);
  CHECK(timeout("0") == 0);
  for (const char* p : {"4", "0", "\"4\"", "\"50%\"", "\"+1\"", "\"-1\""})
    CHECK(error_of(doc({R"({"name": "a", "cmd": "x"})"}, std::string("\"parallel\": ") + p)).empty());
}

TEST_CASE("batch spec: validation errors name the JSON path and what was expected", "[batch]") {
  const std::string a = R"({"name": "a", "cmd": "true"})";
  struct Case {
    std::string text, message;
  };
  const std::vector<Case> cases = {
      {doc({a, a, a, R"({"name": "d", "cmd": "x", "timeout": true})"}),
       R"(s.json: jobs[3].timeout: expected a duration like "30s", "1.5m" or a number of seconds, got true)"},
      {doc({R"({"name": "a", "cmd": "x", "timeout": "soon"})"}),
       R"(s.json: jobs[0].timeout: expected a duration like "30s", "1.5m" or a number of seconds, got "soon")"},
      {doc({R"({"name": "a", "cmd": "x", "timeout": -1})"}),
       R"(s.json: jobs[0].timeout: expected a duration like "30s", "1.5m" or a number of seconds, got -1)"},
      {doc({R"({"name": "a", "cmd": "x", "retries": 1.5})"}),
       "s.json: jobs[0].retries: expected a whole number of attempts like 3, got 1.5"},
      {doc({R"({"name": "a", "cmd": "x", "allow_failure": "yes"})"}),
       R"(s.json: jobs[0].allow_failure: expected true or false, got "yes")"},
      {doc({R"({"name": "a", "cmd": "x", "need": ["b"]})"}),
       R"(s.json: jobs[0]: unknown key "need" (did you mean "needs"?); expected one of: name, cmd, needs, env, cwd, timeout, retries, shell, allow_failure)"},
      {doc({R"({"name": "a", "cmd": "x", "needs": "b"})"}),
       R"(s.json: jobs[0].needs: expected a list of job names like ["build"], got "b")"},
      {doc({R"({"name": "a", "cmd": "x", "needs": [1]})"}),
       "s.json: jobs[0].needs[0]: expected a job name (a non-empty string), got 1"},
      {doc({R"({"cmd": "x"})"}), R"(s.json: jobs[0]: missing "name" (every job needs a unique name))"},
      {doc({R"({"name": "a"})"}), R"(s.json: jobs[0]: missing "cmd" (the command to run))"},
      {doc({R"({"name": "", "cmd": "x"})"}), R"(s.json: jobs[0].name: expected a job name (a non-empty string), got an empty string)"},
      {doc({R"({"name": "a/b", "cmd": "x"})"}),
       R"(s.json: jobs[0].name: "a/b": a job name is used as a directory name (--results): it may not contain '/', '\' or control characters, be "." or "..", or be longer than 200 bytes)"},
      {doc({R"({"name": "a\\b", "cmd": "x"})"}),
       R"(s.json: jobs[0].name: "a\\b": a job name is used as a directory name (--results): it may not contain '/', '\' or control characters, be "." or "..", or be longer than 200 bytes)"},
      {doc({R"({"name": "..", "cmd": "x"})"}),
       R"(s.json: jobs[0].name: "..": a job name is used as a directory name (--results): it may not contain '/', '\' or control characters, be "." or "..", or be longer than 200 bytes)"},
      {doc({R"({"name": "a", "cmd": 5})"}),
       "s.json: jobs[0].cmd: expected a command: a string for the shell, or a list of program and arguments, got 5"},
      {doc({R"({"name": "a", "cmd": ""})"}),
       R"(s.json: jobs[0].cmd: expected a command: a string for the shell, or a list of program and arguments, got an empty string)"},
      {doc({R"({"name": "a", "cmd": []})"}),
       "s.json: jobs[0].cmd: expected a command: a string for the shell, or a list of program and arguments, got an empty list"},
      {doc({R"({"name": "a", "cmd": ["ls", 1]})"}), "s.json: jobs[0].cmd[1]: expected a string, got 1"},
      {doc({R"({"name": "a", "cmd": "a\u0000b"})"}),
       "s.json: jobs[0].cmd: contains a NUL byte, which no command can receive"},
      {doc({R"({"name": "a", "cmd": "x", "env": ["A=1"]})"}),
       R"(s.json: jobs[0].env: expected an object of variables like {"NAME": "value"}, got a list)"},
      {doc({R"({"name": "a", "cmd": "x", "env": {"A": 1}})"}),
       "s.json: jobs[0].env.A: expected a string (or null to remove the variable), got 1"},
      {doc({R"({"name": "a", "cmd": "x", "env": {"A=B": "1"}})"}),
       R"(s.json: jobs[0].env["A=B"]: a variable name cannot be empty or contain '=' or a NUL byte)"},
      {doc({R"({"name": "a", "cmd": "x", "cwd": ""})"}),
       R"(s.json: jobs[0].cwd: expected a directory (a non-empty string), got an empty string)"},
      {doc({a}, R"("parallel": "many")"),
       R"(s.json: parallel: expected a number of job slots: 4, "50%", "+1", "-1", or 0 for as many as possible, got "many")"},
      {doc({a}, R"("parallel": -2)"),
       R"(s.json: parallel: expected a number of job slots: 4, "50%", "+1", "-1", or 0 for as many as possible, got -2)"},
      {doc({a}, R"("timeout": [])"),
       R"(s.json: timeout: expected a duration like "30s", "1.5m" or a number of seconds, got an empty list)"},
      {doc({a}, R"("job": 1)"),
       R"(s.json: unknown key "job" (did you mean "jobs"?); expected one of: parallel, timeout, retries, env, cwd, shell, jobs)"},
      {R"({"parallel": 2})", R"(s.json: missing "jobs" (the list of jobs to run))"},
      {R"({"jobs": {"a": 1}})", "s.json: jobs: expected a list of job objects, got an object"},
      {R"({"jobs": ["make"]})",
       R"(s.json: jobs[0]: expected a job object like {"name": "build", "cmd": "make"}, got "make")"},
      {"[1, 2]",
       R"(s.json: expected a JSON object with a "jobs" list (or JSON Lines: one job object per line), got a list)"},
      {"{\"jobs\": [\n  {\"name\": \"a\", \"cmd\": \"x\",}\n]}",
       "s.json: invalid JSON: parse error at line 2, column 28: syntax error while parsing object key - unexpected "
       "'}'; expected string literal"},
      {doc({R"({"name": "a", "cmd": "x", "cmd": "y"})"}), R"(s.json: jobs[0]: key "cmd" appears twice)"},
      {doc({R"({"name": "a", "cmd": "x", "env": {"A": "1", "A": "2"}})"}), R"(s.json: jobs[0].env: key "A" appears twice)"},
      {R"({"jobs": [], "jobs": []})", R"(s.json: top level: key "jobs" appears twice)"},
      // JSON Lines: the line number stands for the path of the job.
      {"{\"name\": \"a\", \"cmd\": \"x\"}\n{\"name\": \"b\", \"cmd\": \"x\", \"timeout\": true}\n",
       R"(s.json: line 2: timeout: expected a duration like "30s", "1.5m" or a number of seconds, got true)"},
      {"{\"name\": \"a\", \"cmd\": \"x\"}\n{\"name\": \"b\", \"cmd\": \"x\",\n",
       "s.json: line 2: invalid JSON: parse error at column 26: syntax error while parsing object key - unexpected end "
       "of input; expected string literal"},
      {"{\"name\": \"a\", \"cmd\": \"x\"}\n[1]\n",
       R"(s.json: line 2: expected a job object like {"name": "build", "cmd": "make"}, got a list)"},
      {"{\"name\": \"a\", \"cmd\": \"x\", \"env\": {\"A\": \"1\", \"A\": \"1\"}}\n",
       R"(s.json: line 1: env: key "A" appears twice)"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    CHECK(error_of(c.text) == c.message);
  }
}

TEST_CASE("batch spec: names are unique and needs name existing jobs", "[batch]") {
  CHECK(error_of(doc({R"({"name": "build", "cmd": "x"})", R"({"name": "test", "cmd": "x"})",
                      R"({"name": "build", "cmd": "y"})"})) ==
        R"(s.json: jobs[2].name: "build" is already the name of jobs[0])");
  CHECK(error_of("{\"name\": \"a\", \"cmd\": \"x\"}\n{\"name\": \"a\", \"cmd\": \"x\"}\n") ==
        R"(s.json: line 2: name: "a" is already the name of the job on line 1)");
  CHECK(error_of(doc({R"({"name": "build", "cmd": "x"})", R"({"name": "test", "cmd": "x", "needs": ["biuld"]})"})) ==
        R"(s.json: jobs[1].needs[0]: no job is named "biuld" (did you mean "build"?))");
  CHECK(error_of(doc({R"({"name": "build", "cmd": "x"})", R"({"name": "t", "cmd": "x", "needs": ["deploy"]})"})) ==
        R"(s.json: jobs[1].needs[0]: no job is named "deploy")");
  CHECK(error_of(doc({R"({"name": "build", "cmd": "x"})",
                      R"({"name": "t", "cmd": "x", "needs": ["build", "build"]})"})) ==
        R"(s.json: jobs[1].needs[1]: "build" is listed twice)");
}

TEST_CASE("batch spec: dependency cycles are rejected, naming the jobs", "[batch]") {
  CHECK(error_of(doc({R"({"name": "a", "cmd": "x", "needs": ["a"]})"})) ==
        "s.json: dependency cycle: a -> a (each job needs the next)");
  CHECK(error_of(doc({R"({"name": "build", "cmd": "x", "needs": ["test"]})",
                      R"({"name": "test", "cmd": "x", "needs": ["build"]})"})) ==
        "s.json: dependency cycle: build -> test -> build (each job needs the next)");
  // The cycle is reported from the job that comes first in the spec, whatever leads into it.
  CHECK(error_of(doc({R"({"name": "entry", "cmd": "x", "needs": ["c"]})", R"({"name": "a", "cmd": "x", "needs": ["b"]})",
                      R"({"name": "b", "cmd": "x", "needs": ["c"]})", R"({"name": "c", "cmd": "x", "needs": ["a"]})"})) ==
        "s.json: dependency cycle: a -> b -> c -> a (each job needs the next)");
  // A long cycle: its first four jobs, the last one, and the count; six jobs are still shown whole.
  auto ring = [](int n, const std::string& prefix) {
    std::vector<std::string> jobs;
    for (int i = 0; i < n; ++i)
      jobs.push_back("{\"name\": \"" + prefix + std::to_string(i) + "\", \"cmd\": \"x\", \"needs\": [\"" + prefix +
                     std::to_string((i + 1) % n) + "\"]}");
    return jobs;
  };
  CHECK(error_of(doc(ring(6, "j"))) ==
        "s.json: dependency cycle: j0 -> j1 -> j2 -> j3 -> j4 -> j5 -> j0 (each job needs the next)");
  CHECK(error_of(doc(ring(7, "j"))) ==
        "s.json: dependency cycle of 7 jobs: j0 -> j1 -> j2 -> j3 -> ... -> j6 -> j0 (each job needs the next)");
  CHECK(error_of(doc(ring(2, std::string(100, 'n')))) ==
        "s.json: dependency cycle: " + std::string(57, 'n') + "... -> " + std::string(57, 'n') + "... -> " +
            std::string(57, 'n') + "... (each job needs the next)");
  // A diamond is not a cycle.
  CHECK(error_of(doc({R"({"name": "a", "cmd": "x"})", R"({"name": "b", "cmd": "x", "needs": ["a"]})",
                      R"({"name": "c", "cmd": "x", "needs": ["a"]})",
                      R"({"name": "d", "cmd": "x", "needs": ["b", "c"]})"}))
            .empty());
}

TEST_CASE("BatchSource: ready jobs in spec order; needs release them", "[batch]") {
  // The CI pipeline: build, then unit and lint in parallel, then package.
  BatchSpec s = parse_batch_spec(doc({R"({"name": "package", "cmd": "x", "needs": ["unit", "lint"]})",
                                      R"({"name": "lint", "cmd": "x", "needs": ["build"]})",
                                      R"({"name": "unit", "cmd": "x", "needs": ["build"]})",
                                      R"({"name": "build", "cmd": "x"})", R"({"name": "docs", "cmd": "x"})"}),
                                 "s");
  BatchSource src(s, BatchSourceOptions{});
  std::vector<JobSpec> specs;
  CHECK(take_ready(src, &specs) == Names{"build", "docs"});
  CHECK(specs[0].input.seq == 1);
  CHECK(specs[1].input.seq == 2);
  JobSpec j;
  CHECK(src.next(j) == JobSource::Status::Pending);  // waits for running jobs: no fd to watch
  CHECK(src.input() == nullptr);  // nothing to watch: a job's end releases the rest
  src.job_done(specs[1], true);  // docs
  CHECK(src.next(j) == JobSource::Status::Pending);
  src.job_done(specs[0], true);  // build: lint and unit, in spec order
  std::vector<JobSpec> mid;
  CHECK(take_ready(src, &mid) == Names{"lint", "unit"});
  src.job_done(mid[1], true);
  CHECK(src.next(j) == JobSource::Status::Pending);  // package still needs lint
  src.job_done(mid[0], true);
  std::vector<JobSpec> last;
  CHECK(take_ready(src, &last) == Names{"package"});
  CHECK(src.next(j) == JobSource::Status::End);
  src.job_done(last[0], true);
  CHECK(src.next(j) == JobSource::Status::End);
  using S = poolrun::core::BatchOutcome::State;
  for (const auto& o : src.outcomes()) CHECK(o.state == S::Succeeded);
}

TEST_CASE("BatchSource: a failed need skips its dependents, transitively", "[batch]") {
  BatchSpec s = parse_batch_spec(doc({R"({"name": "build", "cmd": "x"})", R"({"name": "test", "cmd": "x", "needs": ["build"]})",
                                      R"({"name": "deploy", "cmd": "x", "needs": ["test"]})",
                                      R"({"name": "lint", "cmd": "x", "allow_failure": true})",
                                      R"({"name": "after-lint", "cmd": "x", "needs": ["lint"]})"}),
                                 "s");
  BatchSource src(s, BatchSourceOptions{});
  std::vector<JobSpec> first;
  CHECK(take_ready(src, &first) == Names{"build", "lint"});
  src.job_done(first[0], false);
  std::vector<JobSpec> skipped;
  CHECK(take_ready(src, &skipped) == Names{"test!"});
  CHECK(skipped[0].skip_reason == "needs 'build', which failed");
  src.job_done(skipped[0], false);  // the engine reports a skipped job as not succeeded
  skipped.clear();
  CHECK(take_ready(src, &skipped) == Names{"deploy!"});
  CHECK(skipped[0].skip_reason == "needs 'test', which was skipped");
  src.job_done(skipped[0], false);
  // allow_failure changes the exit status only: a job that needs it is still skipped.
  src.job_done(first[1], false);
  skipped.clear();
  CHECK(take_ready(src, &skipped) == Names{"after-lint!"});
  CHECK(skipped[0].skip_reason == "needs 'lint', which failed");
  src.job_done(skipped[0], false);
  JobSpec j;
  CHECK(src.next(j) == JobSource::Status::End);
  using S = poolrun::core::BatchOutcome::State;
  CHECK(src.outcomes()[0].state == S::Failed);
  CHECK(src.outcomes()[1].state == S::Skipped);
  CHECK(src.outcomes()[2].state == S::Skipped);
}

TEST_CASE("BatchSource: --dry-run lists every job in an order it could run", "[batch]") {
  BatchSpec s = parse_batch_spec(doc({R"({"name": "c", "cmd": "x", "needs": ["b"]})", R"({"name": "b", "cmd": "x", "needs": ["a"]})",
                                      R"({"name": "a", "cmd": "x"})"}),
                                 "s");
  BatchSourceOptions opt;
  opt.dry_run = true;
  BatchSource src(s, opt);
  CHECK(take_ready(src) == Names{"a", "b", "c"});
  JobSpec j;
  CHECK(src.next(j) == JobSource::Status::End);
}

TEST_CASE("BatchSource: prepare() builds the command, environment and limits", "[batch]") {
  BatchSpec s = parse_batch_spec(
      doc({R"({"name": "sh", "cmd": "echo $X", "env": {"X": "1", "HOME": null}, "cwd": "/", "timeout": "2s", "retries": 3, "allow_failure": true})",
           R"({"name": "direct", "cmd": ["sh", "-c", "echo it's"]})",
           R"({"name": "missing", "cmd": ["no-such-program-xyz", "a b"]})",
           R"({"name": "own-path", "cmd": ["sh"], "env": {"PATH": "/nonexistent"}})"}),
      "s");
  const char* old_home = std::getenv("HOME");
  std::string saved_home = old_home ? old_home : "";
  ::setenv("HOME", "/home/someone", 1);
  BatchSource src(s, BatchSourceOptions{});  // takes the environment now
  if (old_home) ::setenv("HOME", saved_home.c_str(), 1);
  else ::unsetenv("HOME");
  std::vector<JobSpec> jobs;
  REQUIRE(take_ready(src, &jobs) == Names{"sh", "direct", "missing", "own-path"});
  for (auto& j : jobs) src.prepare(j);

  const JobSpec& a = jobs[0];
  CHECK(a.command == "echo $X");
  CHECK(a.argv == std::vector<std::string>{"/bin/sh", "-c", "echo $X"});
  CHECK(a.path.find("sh") != std::string::npos);
  REQUIRE(a.env);
  CHECK(std::count(a.env->begin(), a.env->end(), "X=1") == 1);
  CHECK(std::none_of(a.env->begin(), a.env->end(), [](const std::string& e) { return e.rfind("HOME=", 0) == 0; }));
  CHECK(std::any_of(a.env->begin(), a.env->end(), [](const std::string& e) { return e.rfind("PATH=", 0) == 0; }));
  CHECK(a.cwd == "/");
  CHECK(a.timeout_s == std::optional<double>(2));
  CHECK(a.retries == std::optional<std::size_t>(3));
  CHECK(a.allow_failure);

  const JobSpec& d = jobs[1];
  CHECK(d.argv == std::vector<std::string>{"sh", "-c", "echo it's"});
  CHECK(d.path.size() > 3);
  CHECK(d.path.substr(d.path.size() - 3) == "/sh");  // found on PATH, exec'd directly
  CHECK(d.command == R"(sh -c 'echo it'"'"'s')");
  CHECK_FALSE(d.env);  // nothing changed: inherits poolrun's environment
  CHECK_FALSE(d.timeout_s);
  CHECK_FALSE(d.retries);

  // Not on PATH: the shell runs it and reports "not found" (127).
  const JobSpec& m = jobs[2];
  CHECK(m.argv == std::vector<std::string>{"/bin/sh", "-c", "no-such-program-xyz 'a b'"});

  // The job's own PATH is the one searched.
  const JobSpec& p = jobs[3];
  CHECK(p.argv == std::vector<std::string>{"/bin/sh", "-c", "sh"});
}

TEST_CASE("BatchSource: a missing shell is an error before anything runs", "[batch]") {
  BatchSpec s = parse_batch_spec(doc({R"({"name": "a", "cmd": "x", "shell": "/no/such/shell"})"}), "s.json");
  try {
    BatchSource src(s, BatchSourceOptions{});
    FAIL("no error");
  } catch (const InputError& e) {
    CHECK(std::string(e.what()) == R"(s.json: jobs[0].shell: shell "/no/such/shell" not found or not executable)");
  }
}

TEST_CASE("BatchSource: banner lines", "[batch]") {
  BatchSpec s = parse_batch_spec(doc({R"({"name": "build", "cmd": "x"})", R"({"name": "lint", "cmd": "x", "allow_failure": true})"}), "s");
  BatchSource src(s, BatchSourceOptions{});
  JobRecord r;
  r.name = "build";
  r.exit_code = 0;
  r.duration_s = 1.234;
  r.status = "succeeded";
  CHECK(src.banner(r) == "=== build: succeeded in 1.23s ===\n");
  r.attempts = 2;
  r.duration_s = 125;
  CHECK(src.banner(r) == "=== build: succeeded in 2m05s (attempt 2) ===\n");
  r.attempts = 1;
  r.duration_s = 0.5;
  r.exit_code = 2;
  r.status = "failed";
  CHECK(src.banner(r) == "=== build: failed (exit 2) in 0.50s ===\n");
  r.exit_code = -1;
  r.signal = 9;
  CHECK(src.banner(r) == "=== build: failed (killed by SIGKILL) in 0.50s ===\n");
  r.signal = 40;
  CHECK(src.banner(r) == "=== build: failed (killed by signal 40) in 0.50s ===\n");
  r.timed_out = true;
  r.signal = 15;
  CHECK(src.banner(r) == "=== build: failed (timed out) in 0.50s ===\n");
  r = JobRecord{};
  r.name = "lint";
  r.exit_code = 1;
  r.duration_s = 3725;
  r.status = "failed";
  CHECK(src.banner(r) == "=== lint: failed (exit 1, allowed) in 1h02m05s ===\n");
  r.status = "skipped";
  r.reason = "needs 'build', which failed";
  CHECK(src.banner(r) == "=== lint: skipped (needs 'build', which failed) ===\n");

  BatchSourceOptions quiet;
  quiet.headers = false;
  BatchSource src2(s, quiet);
  CHECK(src2.banner(r).empty());
}

TEST_CASE("junit: XML escaping keeps documents well-formed", "[junit]") {
  CHECK(xml_escape("a<b>&c\"d'e") == "a&lt;b&gt;&amp;c\"d'e");
  CHECK(xml_escape("a<b>&c\"d'e", true) == "a&lt;b&gt;&amp;c&quot;d&apos;e");
  CHECK(xml_escape("]]>") == "]]&gt;");
  CHECK(xml_escape("l1\r\nl2\tx") == "l1&#13;\nl2\tx");
  CHECK(xml_escape("l1\nl2\tx", true) == "l1&#10;l2&#9;x");
  // Terminal colours and titles go; other control characters XML 1.0 forbids are dropped.
  CHECK(xml_escape("\x1b[1;31mred\x1b[0m \x1b]0;title\x07ok \x1b(") == "red ok (");
  CHECK(xml_escape(std::string("a\x01\x08\x0b\x0c\x1f\0b", 8)) == "ab");
  // UTF-8 stays; invalid bytes become U+FFFD; U+FFFE/U+FFFF are not XML characters.
  CHECK(xml_escape("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80") == "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
  CHECK(xml_escape("a\xffz") == "a\xef\xbf\xbdz");
  CHECK(xml_escape("\xc0\xaf") == "\xef\xbf\xbd\xef\xbf\xbd");              // overlong "/"
  CHECK(xml_escape("\xed\xa0\x80") == "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // a surrogate
  CHECK(xml_escape("\xe2\x82") == "\xef\xbf\xbd\xef\xbf\xbd");              // cut short
  CHECK(xml_escape("x\xef\xbf\xbey\xef\xbf\xbf") == "xy");
}

TEST_CASE("junit: a testsuite with a testcase per job", "[junit]") {
  JobRecord ok;
  ok.name = "build";
  ok.exit_code = 0;
  ok.duration_s = 1.5;
  JobRecord bad = ok;
  bad.name = "test <unit>";
  bad.exit_code = 2;
  bad.command = "make test && echo \"done\"";
  JobRecord skipped;
  skipped.name = "deploy";
  skipped.status = "skipped";
  skipped.reason = "needs 'test', which failed";
  JUnitSuite suite;
  suite.time_s = 2.25;
  suite.timestamp = 0;
  suite.hostname = "ci";
  suite.cases.push_back(poolrun::core::junit_case(ok, false));
  suite.cases.push_back(poolrun::core::junit_case(bad, true));
  suite.cases.push_back(poolrun::core::junit_case(skipped, false));
  suite.cases[0].out = "built\n";
  CHECK(suite.cases[1].result == JUnitCase::Result::Failed);
  CHECK(suite.cases[1].message == "exit 2 (allowed to fail)");
  CHECK(suite.cases[1].type == "exit");
  std::string x = poolrun::core::junit_xml(suite);
  CHECK(x.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites ", 0) == 0);
  CHECK(x.find(R"(<testsuite name="poolrun batch" tests="3" failures="1" errors="0" skipped="1" time="2.250" timestamp=")") !=
        std::string::npos);
  CHECK(x.find(R"(hostname="ci">)") != std::string::npos);
  CHECK(x.find("<testcase name=\"build\" classname=\"poolrun.batch\" time=\"1.500\">\n      <system-out>built\n</system-out>") !=
        std::string::npos);
  CHECK(x.find(R"(<testcase name="test &lt;unit&gt;" classname="poolrun.batch" time="1.500">)") != std::string::npos);
  CHECK(x.find(R"x(<failure message="exit 2 (allowed to fail)" type="exit">command: make test &amp;&amp; echo "done")x") !=
        std::string::npos);
  CHECK(x.find(R"(<skipped message="needs &apos;test&apos;, which failed"/>)") != std::string::npos);
  CHECK(x.find("</testsuite>\n</testsuites>\n") != std::string::npos);
}
