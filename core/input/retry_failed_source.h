// --retry-failed: the failed rows of a joblog (core/report/joblog.h) as the run's jobs.
#pragma once
#include <cstddef>
#include <map>
#include <string>

#include "core/input/shell_or_direct.h"
#include "core/report/joblog.h"
#include "core/run/config.h"
#include "core/run/job_source.h"

namespace poolrun::core {

/// --retry-failed: the failed rows of a joblog as jobs, run through the shell with their logged
/// command and seq (the command line's own command and inputs are ignored, as GNU parallel).
class RetryFailedSource final : public JobSource {
 public:
  RetryFailedSource(const RunConfig& cfg, const std::map<std::size_t, JoblogEntry>& log);
  Status next(JobSpec& out) override;
  void prepare(JobSpec& job) override;
  std::string tag(const JobSpec& job) const override { return job.command; }

 private:
  const RunConfig& cfg_;
  std::map<std::size_t, JoblogEntry> failed_;
  std::map<std::size_t, JoblogEntry>::const_iterator it_;
  Shell shell_;
};

}  // namespace poolrun::core
