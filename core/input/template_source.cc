#include "core/input/template_source.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/errors.h"
#include "platform/system.h"

namespace poolrun::core {

TemplateSource::TemplateSource(const RunConfig& cfg) : cfg_(cfg), stream_(cfg) {
  TemplateOptions topt;
  topt.replace = cfg.replace;
  topt.names = stream_.names();
  // -X repeats a word holding {} per value; GNU parallel's -N does so too.
  topt.context_replace = cfg.xargs || cfg.max_args > 1;
  tmpl_ = CommandTemplate::parse(cfg.command, topt);
  if (cfg.tagstring) {
    TemplateOptions tag_opt = topt;
    tag_opt.context_replace = false;
    tagstring_ = CommandTemplate::parse({*cfg.tagstring}, tag_opt);
  }
  direct_ = tmpl_.direct_exec_possible();
  if (direct_) {
    exe_path_ = platform::resolve_executable(cfg.command.front());
    if (exe_path_.empty()) direct_ = false;  // let the shell report "not found" (exit 127)
  }
  shell_ = Shell::require(cfg.shell);
  if (cfg.xargs) {
    // As xargs: the line plus the environment must fit ARG_MAX; keep a margin for the shell.
    std::size_t limit = platform::arg_max();
    std::size_t env = platform::environment_size();
    line_limit_ = limit > env + 4096 ? limit - env - 4096 : 4096;
    // One argv string (sh -c LINE) may not exceed MAX_ARG_STRLEN either.
    if (!direct_) line_limit_ = std::min(line_limit_, platform::arg_strlen_max() - 1);
  }
}

bool TemplateSource::take_records(std::vector<Record>& out) {
  for (;;) {
    Record r;
    if (carry_) {
      r = std::move(*carry_);
      carry_.reset();
    } else {
      auto st = stream_.next(r);
      if (st == RecordStream::Status::Pending) return false;
      if (st == RecordStream::Status::End) {
        input_end_ = true;
        break;
      }
    }
    if (cfg_.xargs) {
      std::size_t c = tmpl_.record_cost(r);
      if (!partial_.empty() && tmpl_.base_cost() + partial_cost_ + c > line_limit_) {
        carry_ = std::move(r);
        break;
      }
      partial_cost_ += c;
      partial_.push_back(std::move(r));
      if (cfg_.max_args > 1 && partial_.size() >= cfg_.max_args) break;
    } else {
      partial_.push_back(std::move(r));
      if (partial_.size() >= std::max<std::size_t>(cfg_.max_args, 1)) break;
    }
  }
  if (partial_.empty()) return false;
  out = std::move(partial_);
  partial_.clear();
  partial_cost_ = 0;
  return true;
}

JobSource::Status TemplateSource::next(JobSpec& out) {
  if (input_end_ && !carry_ && partial_.empty()) return Status::End;
  std::vector<Record> recs;
  if (!take_records(recs)) return (input_end_ && !carry_) ? Status::End : Status::Pending;
  for (auto& rec : recs)
    for (auto& v : rec)
      if (v.find('\0') != std::string::npos) {
        // A NUL cannot pass through argv. As GNU parallel: write it as \0 and say so once.
        if (!warned_nul_)
          spdlog::warn("a NUL byte in the input was replaced with \\0 (did you mean -0/--null?)");
        warned_nul_ = true;
        std::string fixed;
        for (char c : v) {
          if (c == '\0') fixed += "\\0";
          else fixed += c;
        }
        v = std::move(fixed);
      }
  out = JobSpec{};
  out.input.records = std::move(recs);
  out.input.seq = next_seq_++;
  return Status::Job;
}

void TemplateSource::prepare(JobSpec& job) {
  if (cfg_.max_args == 0 && !cfg_.command.empty()) {
    // -N0 (GNU parallel): the item only counts a job; the command runs as written.
    std::string line;
    for (const auto& w : cfg_.command) line += (line.empty() ? "" : " ") + w;
    job.command = line;
    run_in_shell(shell_, job.command, job.path, job.argv);
    return;
  }
  job.command = tmpl_.render_shell(job.input);
  shell_or_direct(shell_, exe_path_, job.command, [&] { return tmpl_.render_argv(job.input); }, job.path, job.argv);
}

std::optional<std::size_t> TemplateSource::total() const {
  auto records = stream_.total_records();
  if (!records || cfg_.xargs) return std::nullopt;
  std::size_t per_job = std::max<std::size_t>(cfg_.max_args, 1);
  return (*records + per_job - 1) / per_job;
}

std::string TemplateSource::tag(const JobSpec& job) const {
  if (tagstring_) {
    // A tagstring without replacement strings is the tag as it is (nothing appended).
    if (!tagstring_->has_replacements()) return *cfg_.tagstring;
    return tagstring_->render_raw(job.input);
  }
  std::string p;
  for (const auto& r : job.input.records)
    for (const auto& v : r) {
      if (!p.empty()) p += '\t';
      p += v;
    }
  return p;
}

}  // namespace poolrun::core
