#include "core/input/retry_failed_source.h"

namespace poolrun::core {

RetryFailedSource::RetryFailedSource(const RunConfig& cfg, const std::map<std::size_t, JoblogEntry>& log)
    : cfg_(cfg) {
  for (const auto& [seq, e] : log)
    if (!e.succeeded()) failed_.emplace(seq, e);
  it_ = failed_.begin();
  shell_ = Shell::require(cfg.shell);
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
  run_in_shell(shell_, job.command, job.path, job.argv);
}

}  // namespace poolrun::core
