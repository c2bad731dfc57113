// The --pipe / --pipepart job source: poolrun's stdin (or a file) cut into chunks of whole
// records, each chunk becoming one job's stdin (GNU parallel's --pipe, --pipepart, --round-robin).
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/pipe/chunker.h"
#include "core/run/config.h"
#include "core/run/job_source.h"
#include "core/input/shell_or_direct.h"
#include "core/input/template.h"
#include "platform/fd.h"

namespace poolrun::core {

/// Jobs running RunConfig::command once per chunk, the chunk on their stdin.
///  - --pipe from a pipe or terminal: reads stdin as the engine asks for jobs, at most one read
///    (up to 1 MiB) per readiness, so read-ahead is bounded by about one block beyond the chunks
///    of the running jobs (which the jobs' feeds hold until their pipes take them).
///  - --pipe from a regular file (`< file`), without -N/-L/--round-robin: chunks are found by
///    reading only around block borders and sent as file ranges (as --pipepart), same cuts as
///    from a pipe (each chunk the longest run of whole records within --block).
///  - --pipepart: ranges of RunConfig::pipe.file, cut as GNU parallel cuts them: each range ends
///    after the first record end that starts at least --block bytes past its start (never an
///    empty range, never a cut record), sent by splice(2).
///  - --round-robin: at most -j jobs, each started with a chunk; when a job's pipe has taken its
///    chunk it takes the next one that is ready, so chunks go to whichever job reads fastest.
/// The command words run as GNU parallel's --pipe runs them: joined with spaces, executed
/// directly when the line needs no shell, otherwise `shell -c LINE`; {#} and {%} are replaced.
/// Throws UsageError (missing shell, bad template) or InputError (unreadable file) from the
/// constructor; InputError from next()/on_readable() on a read error.
class PipeSource final : public JobSource, public InputWatch {
 public:
  explicit PipeSource(const RunConfig& cfg);
  InputWatch* input() override { return this; }
  Status next(JobSpec& out) override;
  void prepare(JobSpec& job) override;
  std::string tag(const JobSpec& job) const override;
  /// -1 when nothing is to be waited for: file ranges, or an input epoll cannot watch.
  int wait_fd() const override { return file_mode_ || !pollable_ ? -1 : fd_; }
  void on_readable() override;
  void set_pollable(bool p) override { pollable_ = p; }
  bool reads_stdin() const override { return cfg_.pipe.mode == PipeConfig::Mode::Stdin; }
  /// Reads on while less than one whole chunk is buffered, also when every job slot is busy, so
  /// the next chunk is ready when a slot frees (and for --round-robin jobs waiting for one).
  /// Never for an input that is read without waiting (a regular file, /dev/null).
  bool wants_input() const override {
    return !file_mode_ && pollable_ && !eof_ && (hungry_ || !chunk_buffered());
  }

 private:
  bool read_once();                        // false at eof; throws InputError
  bool chunk_buffered() const;             // a whole chunk is buffered (cached until it changes)
  bool header_ready();                     // stream mode: header found (or none)
  std::string take(std::size_t n);         // the first n buffered bytes
  std::string_view view() const { return std::string_view(buf_).substr(off_); }
  Status next_range(JobSpec& out);         // file mode
  std::uint64_t boundary_after(std::uint64_t pos);   // --pipepart: first split >= pos + block
  std::uint64_t boundary_within(std::uint64_t pos);  // --pipe file: last split <= pos + block
  StdinFeed::Refill refill(StdinFeed& f);  // --round-robin
  void fill(StdinFeed& f, std::string chunk);

  const RunConfig& cfg_;
  RecordCutter cutter_;
  CommandTemplate tmpl_;
  bool templated_ = false;
  std::string line_, exe_path_;  // exe_path_: the program exec'd directly; empty: `shell -c`
  Shell shell_;
  std::vector<std::string> direct_argv_;

  platform::UniqueFd owned_;
  int fd_ = 0;
  std::string label_;
  bool pollable_ = true;
  bool eof_ = false;
  std::string buf_;
  std::size_t off_ = 0;
  mutable bool buffered_known_ = false, buffered_ = false;
  std::unique_ptr<char[]> rbuf_;
  std::string header_;
  bool header_done_ = false;
  bool count_records_ = false;

  bool file_mode_ = false;
  std::uint64_t pos_ = 0, size_ = 0;

  bool rr_ = false;
  bool hungry_ = false;
  std::size_t started_ = 0;
  std::size_t next_seq_ = 1;
};

}  // namespace poolrun::core
