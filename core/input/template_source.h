// The main job's source: GNU parallel's command template over the input records.
#pragma once
#include <memory>
#include <optional>
#include <string>

#include "core/run/config.h"
#include "core/input/records.h"
#include "core/input/shell_or_direct.h"
#include "core/run/job_source.h"
#include "core/input/template.h"

namespace poolrun::core {

/// Jobs made from RunConfig::command and the input records, grouped by -N or packed by -X under
/// the kernel's argument limit (environment included). A command line needing no shell is exec'd
/// directly (the first word is resolved on $PATH once); otherwise `shell -c LINE`.
/// Throws UsageError (bad template, missing shell) or InputError (unreadable source) from the
/// constructor.
class TemplateSource final : public JobSource, public InputWatch {
 public:
  explicit TemplateSource(const RunConfig& cfg);
  InputWatch* input() override { return this; }
  Status next(JobSpec& out) override;
  void prepare(JobSpec& job) override;
  std::string tag(const JobSpec& job) const override;
  int wait_fd() const override { return stream_.wait_fd(); }
  void on_readable() override { stream_.on_readable(); }
  void set_pollable(bool p) override { stream_.set_pollable(p); }
  bool reads_stdin() const override { return stream_.reads_stdin(); }
  std::optional<std::size_t> total() const override;

 private:
  bool take_records(std::vector<Record>& out);  // false: pending or end (see done_)

  const RunConfig& cfg_;
  RecordStream stream_;
  CommandTemplate tmpl_;
  std::optional<CommandTemplate> tagstring_;
  bool direct_ = false;
  std::string exe_path_;  // the program exec'd directly; empty: `shell -c`
  Shell shell_;
  std::size_t line_limit_ = 0;
  std::vector<Record> partial_;
  std::size_t partial_cost_ = 0;
  std::optional<Record> carry_;  // a record that did not fit the previous -X line
  bool input_end_ = false;
  bool warned_nul_ = false;
  std::size_t next_seq_ = 1;
};

}  // namespace poolrun::core
