// libFuzzer target: the main job's option parser. The input is argv, NUL-separated. Parsing must
// either give a RunConfig or a usage error, never crash.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "app/run_cmd.h"
#include "core/errors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> args;
  std::string cur;
  for (std::size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      args.push_back(cur);
      cur.clear();
    } else {
      cur += static_cast<char>(data[i]);
    }
  }
  args.push_back(cur);
  CLI::App app{"poolrun", "poolrun"};
  poolrun::app::RunOptions opts;
  poolrun::app::setup_run(app, opts);
  try {
    std::vector<std::string> rest;
    auto words = poolrun::app::split_options(app, args, rest);
    // main() takes command_only()'s answer instead of building the App: it must be the same.
    if (auto only = poolrun::app::command_only(args); only && (!words.empty() || *only != rest)) std::abort();
    std::reverse(words.begin(), words.end());
    app.parse(words);
    opts.rest = rest;
    (void)poolrun::app::make_run_config(opts, args, "", "");
  } catch (const CLI::Error&) {
  } catch (const poolrun::UsageError&) {
  } catch (const poolrun::InputError&) {
  }
  return 0;
}
