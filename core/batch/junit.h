// JUnit XML reports (--junit FILE): the format CI systems (Jenkins, GitLab, GitHub Actions
// reporters, Azure Pipelines) read to show test results. One <testsuite> per run inside
// <testsuites>, one <testcase> per job. tests/data/junit.xsd is the schema the tests validate
// against (the common Jenkins/Ant JUnit structure).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/report/report.h"

namespace poolrun::core {

/// One <testcase>.
struct JUnitCase {
  enum class Result { Passed, Failed, Skipped };
  std::string name;
  double time_s = 0;
  Result result = Result::Passed;
  std::string message;  ///< <failure message=...> or <skipped message=...>
  std::string type;     ///< <failure type=...>: "exit", "signal", "timeout", "spawn"
  std::string details;  ///< the <failure> element's text
  std::optional<std::string> out, err;  ///< <system-out>, <system-err>: raw bytes; nullopt: none
};

/// One <testsuite>.
struct JUnitSuite {
  std::string name = "poolrun batch";
  std::string classname = "poolrun.batch";  ///< every testcase's classname
  double time_s = 0;                        ///< wall time of the run
  double timestamp = 0;                     ///< Unix seconds when it started (written as local time)
  std::string hostname;
  std::vector<JUnitCase> cases;
};

/// The <testcase> for a job from its record. Failed jobs with allow_failure are still failures
/// (the message says so); skipped jobs carry their reason.
JUnitCase junit_case(const JobRecord& rec, bool allow_failure);

/// Why a failed job failed, in words: "exit 2", "timed out", "killed by SIGKILL" ("killed by
/// signal 40" without a name),
/// "could not start"; `detailed` adds the time limit ("timed out after 5.00s") and the error
/// ("could not start: spawn: ./x: No such file or directory").
std::string failure_words(const JobRecord& rec, bool detailed = false);

/// The whole document, UTF-8.
std::string junit_xml(const JUnitSuite& suite);

/// Job output or a name made fit for XML 1.0 text (attribute values when `attribute`): markup
/// characters escaped; carriage returns (and in attributes tabs and newlines) as character
/// references so parsers keep them; ANSI escape sequences (terminal colours) removed; other
/// characters XML 1.0 forbids (control characters, U+FFFE/U+FFFF) dropped; bytes that are not
/// valid UTF-8 replaced by U+FFFD.
std::string xml_escape(std::string_view bytes, bool attribute = false);

}  // namespace poolrun::core
