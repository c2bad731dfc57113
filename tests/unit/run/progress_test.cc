#include <catch2/catch.hpp>

#include "core/run/progress.h"

using poolrun::core::format_progress;
using poolrun::core::ProgressState;

TEST_CASE("progress line counts, rate and ETA", "[progress]") {
  ProgressState st;
  st.running = 2;
  st.done = 40;
  st.failed = 1;
  st.total = 100;
  st.elapsed_s = 4;
  CHECK(format_progress(st, false, false, 200) == "done 40/100 (1 failed), 2 running, 10.0 jobs/s");
  CHECK(format_progress(st, true, false, 200) == "done 40/100 (1 failed), 2 running, 10.0 jobs/s ETA 6s");
  std::string bar = format_progress(st, true, true, 80);
  CHECK(bar.rfind("[", 0) == 0);
  CHECK(bar.find(" 40% ") != std::string::npos);
  CHECK(bar.size() <= 80);
}

TEST_CASE("progress without a known total", "[progress]") {
  ProgressState st;
  st.done = 3;
  st.elapsed_s = 1;
  CHECK(format_progress(st, true, true, 200) == "done 3, 0 running, 3.0 jobs/s ETA ?");
}

TEST_CASE("progress fits a narrow terminal", "[progress]") {
  ProgressState st;
  st.done = 123456;
  st.total = 1000000;
  st.elapsed_s = 100;
  CHECK(format_progress(st, true, true, 30).size() <= 30);
}
