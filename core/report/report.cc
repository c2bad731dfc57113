#include "core/report/report.h"

#include <fmt/format.h>

#include <cerrno>

#include <nlohmann/json.hpp>

#include <spdlog/spdlog.h>

#include "core/errors.h"

namespace poolrun::core {

using nlohmann::json;

namespace {

// Items and commands are bytes, not always UTF-8: invalid sequences become U+FFFD in reports
// rather than aborting the run.
std::string dump(const json& j, int indent = -1) {
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

json job_to_json(const JobRecord& r) {
  json j = {{"seq", r.seq},
            {"slot", r.slot},
            {"items", r.items},
            {"command", r.command},
            {"pid", r.pid},
            {"start", r.start},
            {"end", r.end},
            {"duration_s", r.duration_s},
            {"exit_code", r.exit_code},
            {"signal", r.signal},
            {"timed_out", r.timed_out},
            {"attempts", r.attempts},
            {"user_s", r.user_s},
            {"sys_s", r.sys_s},
            {"max_rss_kib", r.max_rss_kib},
            {"stdout_bytes", r.stdout_bytes},
            {"stderr_bytes", r.stderr_bytes},
            {"status", r.status.empty() ? (r.failed() ? "failed" : "succeeded") : r.status}};
  if (!r.name.empty()) j["name"] = r.name;
  if (!r.spawn_error.empty()) j["spawn_error"] = r.spawn_error;
  if (r.stdin_bytes) j["stdin_bytes"] = *r.stdin_bytes;
  if (r.stdin_records) j["stdin_records"] = *r.stdin_records;
  if (r.stdin_unread) j["stdin_unread"] = *r.stdin_unread;
  if (!r.reason.empty()) j["reason"] = r.reason;
  return j;
}

json summary_to_json(const RunSummary& s) {
  double rate = s.wall_s > 0 ? static_cast<double>(s.jobs) / s.wall_s : 0.0;
  json j = {{"jobs", s.jobs},           {"succeeded", s.succeeded}, {"failed", s.failed},
            {"skipped", s.skipped},     {"wall_s", s.wall_s},       {"user_s", s.user_s},
            {"sys_s", s.sys_s},         {"jobs_per_s", rate},       {"start", s.start},
            {"end", s.end},             {"exit_status", s.exit_status},
            {"interrupted", s.interrupted}};
  if (!s.stop_reason.empty()) j["stop_reason"] = s.stop_reason;
  return j;
}

const char* output_mode_name(OutputMode m) {
  switch (m) {
    case OutputMode::Group: return "group";
    case OutputMode::LineBuffer: return "line-buffer";
    case OutputMode::Ungroup: return "ungroup";
  }
  return "?";
}

json config_to_json(const RunConfig& c) {
  json sources = json::array();
  for (const auto& s : c.sources) {
    if (s.kind == InputSource::Kind::List) sources.push_back({{"kind", "list"}, {"count", s.values.size()}});
    else if (s.kind == InputSource::Kind::File) sources.push_back({{"kind", "file"}, {"path", s.path}});
    else sources.push_back({{"kind", "stdin"}});
  }
  if (sources.empty()) sources.push_back({{"kind", "stdin"}});
  json termseq = json::array();
  for (const auto& t : c.termseq) termseq.push_back({{"signal", t.signal}, {"wait_ms", t.wait_ms}});
  return {{"command", c.command},
          {"sources", sources},
          {"link", c.link},
          {"jobs", c.jobs},
          {"max_args", c.max_args},
          {"xargs", c.xargs},
          {"output", output_mode_name(c.output)},
          {"keep_order", c.keep_order},
          {"tag", c.tag},
          {"dry_run", c.dry_run},
          {"timeout_s", c.timeout_s},
          {"retries", c.retries},
          {"termseq", termseq},
          {"shell", c.shell},
          {"start_method", start_method_name(c.start_method)}};
}

/// "-" is poolrun's stdout (as GNU parallel's --joblog -); anything else a file.
/// `readable`: open read-write (the joblog, whose end trim_partial_line reads).
platform::UniqueFd open_report(const std::string& path, bool append, bool readable = false) {
  std::error_code ec;
  auto fd = path == "-" ? platform::dup_cloexec(1, ec)
            : readable  ? platform::open_read_write(path, append, ec)
                        : platform::open_write(path, append, ec);
  if (readable && ec.value() == EACCES) {  // a file we may write but not read: no repair, then
    ec.clear();
    fd = platform::open_write(path, append, ec);
  }
  if (ec) throw InputError(path + ": cannot open report file: " + ec.message());
  return fd;
}

void write_or_throw(int fd, const std::string& text, const std::string& path) {
  if (auto ec = platform::write_all(fd, text))
    throw InputError(path + ": cannot write report: " + ec.message());
}

}  // namespace

std::string Reports::write(platform::UniqueFd& fd, std::string_view text, const std::string& path) {
  if (!fd) return {};  // failed before: said once
  auto ec = platform::write_all(fd.get(), text);
  if (!ec) return {};
  if (&fd == &joblog_) {
    // A row cut short would be read back as a job done (and the next row glued onto it): keep
    // whole rows only, so --resume runs the job again.
    std::uint64_t dropped = 0;
    platform::trim_partial_line(fd.get(), dropped);
  }
  fd.reset();
  return path + ": cannot write report: " + ec.message();
}

std::string Reports::joblog_column(std::string_view command) {
  std::string cmd(command);
  for (char& ch : cmd)
    if (ch == '\n') ch = '\0';
  return cmd;
}

std::string config_json(const RunConfig& cfg) { return dump(config_to_json(cfg)); }

std::string Reports::job_json(const JobRecord& rec) { return dump(job_to_json(rec)); }

Reports::Reports(const RunConfig& cfg) : cfg_(cfg), keep_(!cfg.json_path.empty()) {
  // Opened now, so an unwritable path is an error before any job runs, not a lost report after.
  if (keep_) json_ = open_report(cfg.json_path, false);
  if (!cfg.jsonl_path.empty()) jsonl_ = open_report(cfg.jsonl_path, false);
  if (!cfg.joblog_path.empty()) {
    joblog_ = open_report(cfg.joblog_path, cfg.joblog_append, true);
    if (cfg.joblog_append) {
      std::uint64_t dropped = 0;
      if (auto ec = platform::trim_partial_line(joblog_.get(), dropped))
        throw InputError(cfg.joblog_path + ": cannot repair the joblog's partial last line: " + ec.message());
      if (dropped)
        spdlog::warn("{}: dropped a partial last line ({} bytes, a write cut short); its job counts as not run",
                     cfg.joblog_path, dropped);
    }
    // GNU parallel writes the header only into a new or emptied log.
    bool write_header = !cfg.joblog_append || platform::is_regular_file(joblog_.get());
    if (write_header && cfg.joblog_append) {
      std::error_code ec;
      auto probe = platform::open_read(cfg.joblog_path, ec);
      char c;
      write_header = !ec && platform::read_some(probe.get(), &c, 1) == 0;
    }
    if (write_header)
      write_or_throw(joblog_.get(), "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand\n",
                     cfg.joblog_path);
  }
}

std::string Reports::job_done(const JobRecord& rec) {
  std::string err;
  if (jsonl_) err = write(jsonl_, dump(job_to_json(rec)) + "\n", cfg_.jsonl_path);
  if (joblog_) {
    // GNU parallel: a timed-out job logs Exitval -1 and Signal 15 (it was sent SIGTERM).
    // A job ended by a signal logs Exitval 0 and the signal, as GNU parallel's $? decoding.
    int exitval = rec.timed_out ? -1 : (rec.signal ? 0 : rec.exit_code);
    int sig = rec.timed_out ? 15 : rec.signal;
    // As GNU parallel: a job that left its --pipe input unread shows signal 13 (SIGPIPE).
    if (sig == 0 && rec.stdin_unread.value_or(0) > 0) sig = 13;
    std::string e = write(joblog_,
                          fmt::format("{}\t:\t{:.3f}\t{:9.3f}\t{}\t{}\t{}\t{}\t{}\n", rec.seq, rec.start,
                                      rec.duration_s, rec.stdin_bytes.value_or(0), rec.stdout_bytes,
                                      exitval, sig, joblog_column(rec.command)),
                          cfg_.joblog_path);
    if (err.empty()) err = std::move(e);
  }
  if (keep_) kept_.push_back(rec);
  return err;
}

std::string Reports::finish(const RunSummary& summary) {
  std::string err;
  if (jsonl_) err = write(jsonl_, dump(json{{"summary", summary_to_json(summary)}}) + "\n", cfg_.jsonl_path);
  if (keep_ && json_) {
    json jobs = json::array();
    for (const auto& r : kept_) jobs.push_back(job_to_json(r));
    json doc = {{"tool", "poolrun"},
                {"version", POOLRUN_VERSION},
                {"argv", cfg_.argv},
                {"config", config_to_json(cfg_)},
                {"summary", summary_to_json(summary)},
                {"jobs", std::move(jobs)}};
    std::string e = write(json_, dump(doc, 2) + "\n", cfg_.json_path);
    if (err.empty()) err = std::move(e);
  }
  return err;
}

}  // namespace poolrun::core
