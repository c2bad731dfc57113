// Input records: items read from the sources, split into columns, combined (product or --link).
#pragma once
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/run/config.h"
#include "core/input/split.h"
#include "core/input/template.h"
#include "platform/fd.h"

namespace poolrun::core {

/// Yields the records of a run in order. A single source is streamed with bounded read-ahead (one
/// read of at most 64 KiB at a time, only when the engine asks for a record); several sources are
/// read whole first, then combined as a cartesian product (last source varying fastest, as GNU
/// parallel) or, with --link, element-wise (shorter sources wrap around).
class RecordStream {
 public:
  enum class Status { Record, Pending, End };

  /// Opens the sources. With --header, reads each source's first item as column names.
  /// Throws InputError naming the file when a source cannot be opened or read; UsageError for a
  /// bad --colsep.
  explicit RecordStream(const RunConfig& cfg);

  /// Next record. Pending: nothing buffered and the streamed source is a pipe or terminal that
  /// has no data yet — watch wait_fd() and call on_readable() when it is readable.
  Status next(Record& out);

  /// The fd to watch while Pending, or -1.
  int wait_fd() const;

  /// Performs one read from wait_fd(). Throws InputError on a read error.
  void on_readable();

  /// Called when the event loop cannot watch wait_fd() (e.g. /dev/null): reads then block.
  void set_pollable(bool pollable) { pollable_ = pollable; }

  /// True if any source is poolrun's stdin (then jobs get /dev/null as stdin).
  bool reads_stdin() const { return reads_stdin_; }

  /// The number of records, when known before they are read (sources read whole); else nullopt.
  std::optional<std::size_t> total_records() const;

  /// --header column names -> 1-based positions.
  const std::map<std::string, std::size_t>& names() const { return names_; }

 private:
  struct Stream {
    platform::UniqueFd owned;
    int fd = -1;
    std::string label;
    ItemSplitter splitter;
    bool eof = false;
    explicit Stream(std::string delim) : splitter(std::move(delim)) {}
  };
  enum class ItemStatus { Item, Pending, End };
  ItemStatus next_item(Stream& s, std::string& item, bool may_block);
  void read_once(Stream& s);
  Record to_record(std::string item) const;
  std::unique_ptr<Stream> open_stream(const InputSource& src);

  std::optional<ColumnSplitter> colsep_;
  std::unique_ptr<Stream> stream_;           // the single streamed source
  std::vector<std::vector<Record>> tables_;  // several sources, read whole
  std::vector<std::size_t> odometer_;
  std::size_t link_index_ = 0, link_len_ = 0;
  bool link_ = false;
  bool done_ = false;
  bool pollable_ = true;
  bool reads_stdin_ = false;
  std::map<std::string, std::size_t> names_;
};

}  // namespace poolrun::core
