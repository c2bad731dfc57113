#include "core/input/records.h"

#include <algorithm>

#include "core/errors.h"

namespace poolrun::core {

namespace {
constexpr std::size_t kReadSize = 64 * 1024;
// No argument can exceed 128 KiB (MAX_ARG_STRLEN), so an item this long is never useful; stop
// before an input without delimiters (e.g. /dev/zero) takes all memory.
constexpr std::size_t kMaxItem = 64 * 1024 * 1024;
}

RecordStream::RecordStream(const RunConfig& cfg) : link_(cfg.link) {
  if (cfg.colsep) colsep_.emplace(*cfg.colsep);
  std::vector<InputSource> sources = cfg.sources;
  if (sources.empty()) sources.push_back(InputSource{});

  auto open = [&](const InputSource& src) {
    auto s = std::make_unique<Stream>(cfg.delimiter);
    if (src.kind == InputSource::Kind::Stdin || src.path == "-") {
      s->fd = 0;
      s->label = "standard input";
      reads_stdin_ = true;
    } else {
      std::error_code ec;
      s->owned = platform::open_read(src.path, ec);
      if (ec) throw InputError(src.path + ": cannot open input: " + ec.message());
      s->fd = s->owned.get();
      s->label = src.path;
    }
    if (platform::is_regular_file(s->fd)) pollable_ = false;
    return s;
  };

  std::size_t position = 1;
  if (sources.size() == 1 && sources[0].kind != InputSource::Kind::List) {
    stream_ = open(sources[0]);
    bool was_pollable = pollable_;
    if (cfg.header) {
      std::string first;
      pollable_ = false;  // the header is read before the run starts: block for it
      if (next_item(*stream_, first, true) == ItemStatus::Item) {
        Record cols = to_record(std::move(first));
        for (auto& c : cols) names_.emplace(c, position++);
      }
    }
    pollable_ = was_pollable;
    return;
  }

  // Several sources (or one list): read every one whole, then combine.
  for (const auto& src : sources) {
    std::vector<Record> table;
    if (src.kind == InputSource::Kind::List) {
      for (const auto& v : src.values) table.push_back(to_record(v));
    } else {
      auto s = open(src);
      std::string item;
      while (next_item(*s, item, true) == ItemStatus::Item) table.push_back(to_record(std::move(item)));
    }
    if (cfg.header && !table.empty()) {
      for (auto& c : table.front()) names_.emplace(c, position++);
      table.erase(table.begin());
    } else if (!table.empty()) {
      position += table.front().size();
    }
    tables_.push_back(std::move(table));
  }
  pollable_ = true;
  // A product with an empty factor is empty; so is a --link with an empty source.
  for (const auto& t : tables_) {
    if (t.empty()) done_ = true;
    link_len_ = std::max(link_len_, t.size());
  }
  odometer_.assign(tables_.size(), 0);
}

Record RecordStream::to_record(std::string item) const {
  if (colsep_) return colsep_->split(item);
  Record r;
  r.push_back(std::move(item));
  return r;
}

void RecordStream::read_once(Stream& s) {
  char buf[kReadSize];
  long n = platform::read_some(s.fd, buf, sizeof buf);
  if (n < 0) {
    if (n == -EAGAIN) return;
    throw InputError(s.label + ": read error: " + platform::errno_message(static_cast<int>(-n)));
  }
  if (n == 0) s.eof = true;
  else s.splitter.feed(std::string_view(buf, static_cast<std::size_t>(n)));
  if (s.splitter.pending_bytes() > kMaxItem)
    throw InputError(s.label + ": an item is longer than 64 MiB (wrong delimiter? see -d and -0)");
}

RecordStream::ItemStatus RecordStream::next_item(Stream& s, std::string& item, bool may_block) {
  for (;;) {
    if (s.splitter.next(item)) return ItemStatus::Item;
    if (s.eof) return s.splitter.finish(item) ? ItemStatus::Item : ItemStatus::End;
    if (pollable_ && !may_block) return ItemStatus::Pending;
    read_once(s);
  }
}

RecordStream::Status RecordStream::next(Record& out) {
  if (done_) return Status::End;
  if (stream_) {
    std::string item;
    switch (next_item(*stream_, item, false)) {
      case ItemStatus::Item: out = to_record(std::move(item)); return Status::Record;
      case ItemStatus::Pending: return Status::Pending;
      case ItemStatus::End: done_ = true; return Status::End;
    }
  }
  out.clear();
  if (link_) {
    if (link_index_ >= link_len_) { done_ = true; return Status::End; }
    for (const auto& t : tables_) {
      const Record& r = t[link_index_ % t.size()];
      out.insert(out.end(), r.begin(), r.end());
    }
    ++link_index_;
    return Status::Record;
  }
  for (std::size_t i = 0; i < tables_.size(); ++i) {
    const Record& r = tables_[i][odometer_[i]];
    out.insert(out.end(), r.begin(), r.end());
  }
  // Advance the odometer: the last source varies fastest.
  std::size_t i = tables_.size();
  while (i > 0) {
    --i;
    if (++odometer_[i] < tables_[i].size()) return Status::Record;
    odometer_[i] = 0;
  }
  done_ = true;  // wrapped around: this was the last combination
  return Status::Record;
}

int RecordStream::wait_fd() const { return stream_ && !stream_->eof ? stream_->fd : -1; }

void RecordStream::on_readable() {
  if (stream_ && !stream_->eof) read_once(*stream_);
}

}  // namespace poolrun::core

namespace poolrun::core {

std::optional<std::size_t> RecordStream::total_records() const {
  if (stream_) return std::nullopt;
  std::size_t n = 1;
  for (const auto& t : tables_) n = link_ ? std::max(n, t.size()) : n * t.size();
  for (const auto& t : tables_)
    if (t.empty()) return 0;
  return n;
}

}  // namespace poolrun::core
