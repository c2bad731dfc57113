// Reading GNU parallel's joblog back, for --resume, --resume-failed and --retry-failed.
#pragma once
#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include "core/run/config.h"

namespace poolrun::core {

/// One joblog row (Seq Host Starttime JobRuntime Send Receive Exitval Signal Command).
struct JoblogEntry {
  std::size_t seq = 0;
  int exitval = 0;
  int signal = 0;
  std::string command;
  bool succeeded() const { return exitval == 0 && signal == 0; }
};

/// Parses joblog text: the header line and malformed lines are skipped; when a seq appears more
/// than once the last row wins (a later run's result). A last line without its '\n' is a row cut
/// short (a full disk, a kill): skipped, so its job counts as not run (Reports cuts it off before
/// appending). The command column is decoded with joblog_command(). Returns seq -> entry.
std::map<std::size_t, JoblogEntry> parse_joblog(std::string_view text);

/// The command a joblog's last column holds, exactly as it ran: NUL bytes back to '\n' (GNU
/// parallel's print_joblog writes '\n' as NUL, and its --retry-failed reads it back the same way);
/// tabs are in the column as they are. The inverse of Reports::joblog_column().
std::string joblog_command(std::string_view column);

/// Reads and parses the joblog at `path`; a missing file is an empty log. Throws InputError when
/// it exists but cannot be read.
std::map<std::size_t, JoblogEntry> read_joblog(const std::string& path);

}  // namespace poolrun::core
