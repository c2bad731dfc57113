#include "core/pipe/pipe_source.h"

#include <algorithm>
#include <cerrno>

#include "core/errors.h"
#include "platform/feed_io.h"
#include "platform/system.h"

namespace poolrun::core {
namespace {

constexpr std::size_t kReadSize = 1u << 20;
constexpr std::size_t kWindow = 64 * 1024;

bool needs_no_shell(const std::string& word) {
  if (word.empty()) return false;
  for (unsigned char c : word) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("_-./=+:,@%^").find(static_cast<char>(c)) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

}  // namespace

PipeSource::PipeSource(const RunConfig& cfg) : cfg_(cfg), cutter_(cfg.pipe.chunk) {
  if (cfg.command.empty()) throw UsageError("--pipe and --pipepart need a command to run");
  shell_ = Shell::require(cfg.shell);
  TemplateOptions topt;
  topt.replace = cfg.replace;
  tmpl_ = CommandTemplate::parse(cfg.command, topt);
  templated_ = tmpl_.has_replacements();
  for (const auto& w : cfg.command) line_ += (line_.empty() ? "" : " ") + w;
  if (!templated_ && std::all_of(cfg.command.begin(), cfg.command.end(), needs_no_shell)) {
    exe_path_ = platform::resolve_executable(cfg.command.front());
    if (!exe_path_.empty()) direct_argv_ = cfg.command;
  }
  rr_ = cfg.pipe.round_robin;
  count_records_ = !cfg.json_path.empty() || !cfg.jsonl_path.empty();

  if (cfg.pipe.mode == PipeConfig::Mode::Part) {
    std::error_code ec;
    owned_ = platform::open_read(cfg.pipe.file, ec);
    if (ec) throw InputError(cfg.pipe.file + ": cannot open: " + ec.message());
    long long size = platform::regular_file_size(owned_.get());
    if (size < 0) throw InputError(cfg.pipe.file + ": --pipepart needs a regular file");
    fd_ = owned_.get();
    label_ = cfg.pipe.file;
    file_mode_ = true;
    size_ = static_cast<std::uint64_t>(size);
  } else {
    fd_ = 0;
    label_ = "stdin";
    const ChunkOptions& c = cfg.pipe.chunk;
    long long size = platform::regular_file_size(0);
    long long at = size >= 0 ? platform::current_offset(0) : -1;
    if (size >= 0 && at >= 0 && !rr_ && c.records == 0 && c.lines_per_record <= 1 && !count_records_) {
      // stdin is a regular file: find the cuts by reading around block borders only, and let
      // the kernel move the ranges.
      file_mode_ = true;
      pos_ = static_cast<std::uint64_t>(at);
      size_ = static_cast<std::uint64_t>(std::max(size, at));
    }
  }
  if (!file_mode_) {
    // A regular file is always readable and epoll refuses it: read it without waiting.
    if (platform::regular_file_size(fd_) >= 0) pollable_ = false;
    rbuf_ = std::make_unique<char[]>(kReadSize);
    // A larger stdin pipe (when it is one) means fewer, larger reads.
    platform::grow_pipe(fd_, kReadSize);
  }
}

bool PipeSource::read_once() {
  if (eof_) return false;
  long n = platform::read_some(fd_, rbuf_.get(), kReadSize);
  if (n == -EAGAIN) return true;
  if (n < 0) throw InputError(label_ + ": read error: " + platform::errno_message(static_cast<int>(-n)));
  if (n == 0) {
    eof_ = true;
    return false;
  }
  if (off_ > 0 && off_ >= buf_.size() / 2) {
    buf_.erase(0, off_);  // compact: what is left is less than what was taken
    off_ = 0;
  }
  buf_.append(rbuf_.get(), static_cast<std::size_t>(n));
  buffered_known_ = false;
  return true;
}

bool PipeSource::chunk_buffered() const {
  if (!buffered_known_) {
    buffered_ = header_done_ && cutter_.cut(view(), eof_) > 0;
    buffered_known_ = true;
  }
  return buffered_;
}

void PipeSource::on_readable() {
  hungry_ = false;
  read_once();
}

std::string PipeSource::take(std::size_t n) {
  buffered_known_ = false;
  std::string out;
  if (off_ == 0 && n * 2 >= buf_.size()) {
    // A big chunk: hand over the buffer itself and keep a copy of the (smaller) rest.
    out.swap(buf_);
    buf_.assign(out, n, std::string::npos);
    out.resize(n);
  } else {
    out.assign(buf_, off_, n);
    off_ += n;
    if (off_ == buf_.size()) {
      buf_.clear();
      off_ = 0;
    }
  }
  return out;
}

bool PipeSource::header_ready() {
  if (header_done_) return true;
  auto h = header_length(cfg_.pipe.header, view(), eof_);
  if (!h) return false;
  header_ = take(*h);
  header_done_ = true;
  return true;
}

void PipeSource::fill(StdinFeed& f, std::string chunk) {
  if (count_records_) {
    f.records += cutter_.count_records(chunk);
    f.records_known = true;
  }
  if (f.data.empty() && f.data_pos == 0 && (header_.empty() || rr_)) {
    f.data = std::move(chunk);
  } else {
    f.data += chunk;
  }
}

JobSource::Status PipeSource::next(JobSpec& out) {
  if (rr_ && started_ >= std::max<std::size_t>(1, cfg_.jobs)) return Status::End;
  if (file_mode_) return next_range(out);
  for (;;) {
    if (header_ready()) {
      std::size_t n = cutter_.cut(view(), eof_);
      if (n > 0) {
        out = JobSpec{};
        out.input.seq = next_seq_++;
        auto feed = std::make_shared<StdinFeed>();
        feed->data = header_;
        fill(*feed, take(n));
        if (rr_) feed->refill = [this](StdinFeed& f) { return refill(f); };
        out.stdin_feed = std::move(feed);
        ++started_;
        return Status::Job;
      }
      if (eof_) return Status::End;
    }
    if (eof_) return Status::End;  // header only, or nothing at all
    if (pollable_) return Status::Pending;
    read_once();
  }
}

StdinFeed::Refill PipeSource::refill(StdinFeed& f) {
  for (;;) {
    std::size_t n = cutter_.cut(view(), eof_);
    if (n > 0) {
      fill(f, take(n));
      return StdinFeed::Refill::More;
    }
    if (eof_) return StdinFeed::Refill::End;
    if (pollable_) {
      hungry_ = true;
      return StdinFeed::Refill::Later;
    }
    read_once();
  }
}

JobSource::Status PipeSource::next_range(JobSpec& out) {
  if (!header_done_) {
    header_done_ = true;
    if (!cfg_.pipe.header.empty() && pos_ < size_) {
      std::string w(static_cast<std::size_t>(std::min<std::uint64_t>(kReadSize, size_ - pos_)), '\0');
      long n = platform::read_at(fd_, pos_, w.data(), w.size());
      if (n < 0) throw InputError(label_ + ": read error: " + platform::errno_message(static_cast<int>(-n)));
      w.resize(static_cast<std::size_t>(n));
      auto h = header_length(cfg_.pipe.header, w, pos_ + w.size() >= size_);
      header_ = w.substr(0, h.value_or(w.size()));
      pos_ += header_.size();
    }
  }
  if (pos_ >= size_) return Status::End;
  std::uint64_t end = cfg_.pipe.mode == PipeConfig::Mode::Part ? boundary_after(pos_) : boundary_within(pos_);
  out = JobSpec{};
  out.input.seq = next_seq_++;
  auto feed = std::make_shared<StdinFeed>();
  feed->data = header_;
  feed->file_fd = fd_;
  feed->file_offset = pos_;
  feed->file_length = end - pos_;
  out.stdin_feed = std::move(feed);
  pos_ = end;
  return Status::Job;
}

std::uint64_t PipeSource::boundary_after(std::uint64_t pos) {
  // As GNU parallel: aim --block bytes past the chunk's start and cut after the first record
  // end found from there on: read a window there, larger until one is found.
  std::uint64_t target = pos + cfg_.pipe.chunk.block;
  if (target >= size_) return size_;
  std::size_t wlen = kWindow;
  std::string w;
  for (;;) {
    std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(wlen, size_ - target));
    w.resize(len);
    long n = platform::read_at(fd_, target, w.data(), len);
    if (n < 0) throw InputError(label_ + ": read error: " + platform::errno_message(static_cast<int>(-n)));
    w.resize(static_cast<std::size_t>(n));
    std::size_t p = cutter_.part_split(w, 0);
    if (p != RecordCutter::npos) return std::min(size_, target + p);
    if (target + w.size() >= size_) return size_;
    wlen *= 2;
  }
}

std::uint64_t PipeSource::boundary_within(std::uint64_t pos) {
  // As RecordCutter::cut over a stream: the last split within pos + block, found by reading
  // windows backwards from the block's end; the first split after it when a record is longer.
  const ChunkOptions& c = cfg_.pipe.chunk;
  std::uint64_t limit = pos + c.block;
  if (limit >= size_) return size_;
  std::size_t extra = c.recstart.size();  // a split needs its recstart bytes after it
  std::size_t wlen = kWindow;
  std::string w;
  auto read = [&](std::uint64_t at, std::size_t len) {
    w.resize(len);
    long n = platform::read_at(fd_, at, w.data(), len);
    if (n < 0) throw InputError(label_ + ": read error: " + platform::errno_message(static_cast<int>(-n)));
    w.resize(static_cast<std::size_t>(n));
  };
  for (;;) {
    std::uint64_t w0 = limit > pos + wlen ? limit - wlen : pos;
    std::uint64_t wend = std::min<std::uint64_t>(size_, limit + extra);
    read(w0, static_cast<std::size_t>(wend - w0));
    // Splits p with w0 < p <= limit; a split exactly at w0 is found by the next, larger window.
    std::size_t best = RecordCutter::npos;
    std::string_view v(w);
    if (!(c.recend.empty() && c.recstart.empty())) {
      std::string pat = c.recend + c.recstart;
      std::size_t lim = static_cast<std::size_t>(limit - w0);
      if (lim >= c.recend.size()) {
        std::size_t at = v.rfind(pat, lim - c.recend.size());
        if (at != std::string_view::npos && at + c.recend.size() > 0) best = at + c.recend.size();
      }
    } else {
      best = static_cast<std::size_t>(limit - w0);
    }
    if (best != RecordCutter::npos && w0 + best > pos) return w0 + best;
    if (w0 == pos) break;
    wlen *= 2;
  }
  // One record longer than the block: cut after it.
  wlen = kWindow;
  for (;;) {
    std::uint64_t w0 = limit - std::min<std::uint64_t>(limit - pos, cfg_.pipe.chunk.recend.size());
    std::size_t len = static_cast<std::size_t>(std::min<std::uint64_t>(wlen, size_ - w0));
    read(w0, len);
    std::size_t p = cutter_.next_split(w, static_cast<std::size_t>(limit - w0));
    if (p != RecordCutter::npos) return w0 + p;
    if (w0 + w.size() >= size_) return size_;
    wlen *= 2;
  }
}

void PipeSource::prepare(JobSpec& job) {
  if (templated_) {
    job.command = tmpl_.render_shell(job.input);
  } else {
    job.command = line_;
  }
  shell_or_direct(shell_, exe_path_, job.command, [&] { return direct_argv_; }, job.path, job.argv);
}

std::string PipeSource::tag(const JobSpec& job) const { return std::to_string(job.input.seq); }

}  // namespace poolrun::core
