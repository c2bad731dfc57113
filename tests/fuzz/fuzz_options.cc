// libFuzzer target: the main job's option parser. The input is argv, NUL-separated. Parsing must
// either give a RunConfig or a usage error, never crash, and declaring only the options the words
// name (as main() does) must parse exactly as declaring all of them.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "app/option_binder.h"
#include "app/run_cmd.h"
#include "core/errors.h"

// The options `app` parsed and their values, in declaration order.
static std::string given(const CLI::App& app) {
  std::string s;
  for (const CLI::Option* o : app.get_options()) {
    if (o->count() == 0) continue;
    s += o->get_name() + ":";
    for (const std::string& r : o->results()) s += " [" + r + "]";
    s += "\n";
  }
  return s;
}

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
  // Parsed twice: with every option declared (as for --help) and with only those the words name
  // (as main() parses); both must give the same configuration or the same error.
  std::string outcome[2];
  for (int named = 0; named < 2; ++named) {
    CLI::App app{"poolrun", "poolrun"};
    poolrun::app::RunOptions opts;
    if (named) {
      poolrun::app::OptionBinder b(app, poolrun::app::option_names_in(args));
      poolrun::app::setup_run(b, opts);
    } else {
      poolrun::app::OptionBinder b(app);
      poolrun::app::setup_run(b, opts);
    }
    try {
      std::vector<std::string> rest;
      auto words = poolrun::app::split_options(app, args, rest);
      // main() takes command_only()'s answer instead of building the App: it must be the same.
      if (auto only = poolrun::app::command_only(args); only && (!words.empty() || *only != rest)) std::abort();
      std::reverse(words.begin(), words.end());
      app.parse(words);
      opts.rest = rest;
      outcome[named] = given(app);
      (void)poolrun::app::make_run_config(opts, args, "", "");
    } catch (const CLI::Error& e) {
      outcome[named] = std::string("CLI11: ") + e.what();
    } catch (const poolrun::UsageError& e) {
      outcome[named] = std::string("usage: ") + e.what();
    } catch (const poolrun::InputError& e) {
      outcome[named] = std::string("input: ") + e.what();
    }
  }
  if (outcome[0] != outcome[1]) std::abort();
  return 0;
}
