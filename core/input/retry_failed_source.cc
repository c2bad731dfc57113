#include "core/input/retry_failed_source.h"

#include "core/errors.h"
#include "platform/system.h"

namespace poolrun::core {

RetryFailedSource::RetryFailedSource(const RunConfig& cfg, const std::map<std::size_t, JoblogEntry>& log)
    : cfg_(cfg) {
  for (const auto& [seq, e] : log)
    if (!e.succeeded()) failed_.emplace(seq, e);
  it_ = failed_.begin();
  shell_path_ = platform::resolve_executable(cfg.shell);
  if (shell_path_.empty()) throw UsageError("shell '" + cfg.shell + "' not found or not executable");
}

JobSource::Status RetryFailedSource::next(JobSpec& out) {
  if (it_ == failed_.end()) return Status::End;
  out = JobSpec{};
  out.input.seq = it_->first;
  out.command = it_->second.command;
  ++it_;
  return Status::Job;
}

void RetryFailedSource::prepare(JobSpec& job) {
  job.path = shell_path_;
  job.argv = {cfg_.shell, "-c", job.command};
}

}  // namespace poolrun::core
