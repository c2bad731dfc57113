// Declares options on a CLI11 App: all of them, or only those a command line names.
#pragma once
#include <CLI/CLI.hpp>

#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace poolrun::app {

/// Forwards add_option/add_flag to a CLI::App, optionally only for the options that have one of a
/// given set of names. CLI11 checks each new option against every earlier one (and copies their
/// name lists to do so), so declaring the main job's ~50 options is most of poolrun's start-up
/// work, while a command line names a few. Parsing needs only those: an option that is not
/// declared keeps its default, as a declared one that is not given. An option that is left out
/// gets a scratch option (in an App of its own) to take the settings chained to it; nothing
/// reads them.
class OptionBinder {
 public:
  /// Declares every option on `app` (for --help, the completion scripts and batch).
  explicit OptionBinder(CLI::App& app) : app_(app) {}

  /// Declares on `app` only the named options (one of their names is in `names`, as written:
  /// "-j", "--jobs") and the positionals.
  OptionBinder(CLI::App& app, std::set<std::string> names) : app_(app), names_(std::move(names)), all_(false) {}

  OptionBinder(const OptionBinder&) = delete;
  OptionBinder& operator=(const OptionBinder&) = delete;

  /// CLI::App::add_option(name, variable, description): `name` is CLI11's comma-separated list.
  template <typename T>
  CLI::Option* add_option(std::string name, T& variable, std::string description) {
    if (!wanted(name)) return scratch();
    return app_.add_option(std::move(name), variable, std::move(description));
  }

  /// CLI::App::add_flag(name, variable, description).
  template <typename T>
  CLI::Option* add_flag(std::string name, T& variable, std::string description) {
    if (!wanted(name)) return scratch();
    return app_.add_flag(std::move(name), variable, std::move(description));
  }

  /// The App the options go to.
  CLI::App& app() { return app_; }

 private:
  /// True if the option `name` (CLI11's list "-j,-P,--jobs") is to be declared: always for all
  /// options and for positionals (names without '-').
  bool wanted(const std::string& name) const {
    if (all_) return true;
    std::size_t start = 0;
    for (;;) {
      std::size_t comma = name.find(',', start);
      std::string one = name.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (one.empty() || one[0] != '-' || names_.count(one)) return true;
      if (comma == std::string::npos) return false;
      start = comma + 1;
    }
  }

  CLI::Option* scratch() {
    if (!scratch_app_) {
      scratch_app_ = std::make_unique<CLI::App>();
      scratch_option_ = scratch_app_->add_option("--left-out", scratch_value_);
    }
    return scratch_option_;
  }

  CLI::App& app_;
  std::set<std::string> names_;
  bool all_ = true;
  std::unique_ptr<CLI::App> scratch_app_;
  CLI::Option* scratch_option_ = nullptr;
  std::vector<std::string> scratch_value_;
};

/// The option names that `args` (argv without argv[0]) may use, as OptionBinder takes them: for
/// each word "--name" or "--name=value", "--name"; for each word "-abc", "-a", "-b" and "-c". A
/// superset (values and command words are in it too), so that CLI11 classifies every word as it
/// would with all options declared. Empty words, "-" and "--" give nothing.
inline std::set<std::string> option_names_in(const std::vector<std::string>& args) {
  std::set<std::string> names;
  for (const std::string& a : args) {
    if (a.size() < 2 || a[0] != '-' || a == "--") continue;
    if (a[1] == '-') {
      names.insert(a.substr(0, a.find('=')));
    } else {
      for (std::size_t k = 1; k < a.size(); ++k) names.insert(std::string{'-', a[k]});
    }
  }
  return names;
}

}  // namespace poolrun::app
