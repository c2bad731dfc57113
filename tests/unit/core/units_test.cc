// Tests of core/units: parse_jobs, parse_duration, parse_size.
#include <catch2/catch.hpp>

#include <string>

#include "core/errors.h"
#include "core/units.h"

using poolrun::UsageError;
using poolrun::core::parse_duration;
using poolrun::core::parse_jobs;
using poolrun::core::parse_size;

TEST_CASE("parse_jobs: plain numbers", "[units]") {
  CHECK(parse_jobs("1", 2) == 1);
  CHECK(parse_jobs("4", 2) == 4);
  CHECK(parse_jobs("007", 2) == 7);
  CHECK(parse_jobs("5000", 2) == 5000);
  CHECK(parse_jobs("0", 2) == 1000);
  CHECK(parse_jobs("0", 2, 77) == 77);
}

TEST_CASE("parse_jobs: relative to the CPU count", "[units]") {
  CHECK(parse_jobs("+1", 2) == 3);
  CHECK(parse_jobs("+0", 2) == 2);
  CHECK(parse_jobs("-1", 2) == 1);
  CHECK(parse_jobs("-1", 8) == 7);
  CHECK(parse_jobs("-0", 8) == 8);
  CHECK(parse_jobs("-2", 2) == 1);  // never below 1
  CHECK(parse_jobs("-100", 4) == 1);
  CHECK(parse_jobs("+3", 0) == 4);  // an unknown CPU count counts as 1
}

TEST_CASE("parse_jobs: percentages (rounded up, as GNU parallel)", "[units]") {
  CHECK(parse_jobs("50%", 2) == 1);
  CHECK(parse_jobs("100%", 8) == 8);
  CHECK(parse_jobs("200%", 3) == 6);
  CHECK(parse_jobs("33%", 4) == 2);  // 1.32 -> 2
  CHECK(parse_jobs("12.5%", 8) == 1);
  CHECK(parse_jobs("0%", 8) == 1);
  CHECK(parse_jobs("1%", 2) == 1);
}

TEST_CASE("parse_jobs: malformed values throw UsageError naming the value", "[units]") {
  for (const char* bad : {"", "abc", "1.5", "+", "-", "%", "+-1", "1+", "2x", " 2", "2 ", "+1%",
                          "x%", "99999999999999999999999"}) {
    INFO("spec: '" << bad << "'");
    CHECK_THROWS_AS(parse_jobs(bad, 2), UsageError);
  }
  try {
    parse_jobs("abc", 2);
    FAIL("no throw");
  } catch (const UsageError& e) {
    CHECK(std::string(e.what()).find("abc") != std::string::npos);
  }
}

TEST_CASE("parse_duration", "[units]") {
  CHECK(parse_duration("300ms") == Approx(0.3));
  CHECK(parse_duration("1.5m") == Approx(90));
  CHECK(parse_duration("2") == 2);
  CHECK(parse_duration("2.5") == Approx(2.5));
  CHECK(parse_duration("0") == 0);
  CHECK(parse_duration("0.5s") == Approx(0.5));
  CHECK(parse_duration(".5") == Approx(0.5));
  CHECK(parse_duration("10s") == 10);
  CHECK(parse_duration("2h") == 7200);
  CHECK(parse_duration("1d") == 86400);
  CHECK(parse_duration("1h30m") == 5400);
  CHECK(parse_duration("1m30") == 90);
  CHECK(parse_duration("1M") == 60);  // units are case-insensitive, as GNU parallel
  CHECK(parse_duration("5MS") == Approx(0.005));
}

TEST_CASE("parse_duration: malformed or negative values throw", "[units]") {
  for (const char* bad : {"", "-1", "-0.5s", "x", "1x", "s", "ms", "1..5", "1.5.", "1 s", " 1",
                          "1e3", "inf", "nan", "1w", "1sm", "+1"}) {
    INFO("spec: '" << bad << "'");
    CHECK_THROWS_AS(parse_duration(bad), UsageError);
  }
  try {
    parse_duration("-1");
    FAIL("no throw");
  } catch (const UsageError& e) {
    CHECK(std::string(e.what()).find("-1") != std::string::npos);
  }
}

TEST_CASE("parse_size", "[units]") {
  CHECK(parse_size("1M") == 1048576);
  CHECK(parse_size("10k") == 10240);
  CHECK(parse_size("10K") == 10240);
  CHECK(parse_size("1") == 1);
  CHECK(parse_size("4096") == 4096);
  CHECK(parse_size("1m") == 1048576);
  CHECK(parse_size("2g") == 2ull << 30);
  CHECK(parse_size("2G") == 2ull << 30);
  CHECK(parse_size("1T") == 1ull << 40);
  CHECK(parse_size("1.5M") == 1572864);
  CHECK(parse_size("0.5k") == 512);
}

TEST_CASE("parse_size: malformed or zero values throw", "[units]") {
  for (const char* bad : {"", "0", "0k", "0.0001", "k", "M", "1X", "1MB", "-1", "1 M", "abc",
                          "99999999999T", "1kk"}) {
    INFO("spec: '" << bad << "'");
    CHECK_THROWS_AS(parse_size(bad), UsageError);
  }
  try {
    parse_size("12Q");
    FAIL("no throw");
  } catch (const UsageError& e) {
    CHECK(std::string(e.what()).find("12Q") != std::string::npos);
  }
}
