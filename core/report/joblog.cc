#include "core/report/joblog.h"

#include <cstdlib>
#include <vector>

#include "core/errors.h"
#include "platform/fd.h"
#include "platform/system.h"

namespace poolrun::core {

std::map<std::size_t, JoblogEntry> parse_joblog(std::string_view text) {
  std::map<std::size_t, JoblogEntry> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) break;  // a row cut short: not a job done
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? text.size() : nl + 1;
    std::vector<std::string_view> cols;
    std::size_t start = 0;
    while (cols.size() < 8) {
      std::size_t tab = line.find('\t', start);
      if (tab == std::string_view::npos) break;
      cols.push_back(line.substr(start, tab - start));
      start = tab + 1;
    }
    if (cols.size() < 8) continue;
    std::string seq(cols[0]), exitval(cols[6]), sig(cols[7]);
    char* end = nullptr;
    unsigned long long s = std::strtoull(seq.c_str(), &end, 10);
    if (seq.empty() || *end != '\0' || s == 0) continue;  // the header, or a broken row
    JoblogEntry e;
    e.seq = static_cast<std::size_t>(s);
    e.exitval = std::atoi(exitval.c_str());
    e.signal = std::atoi(sig.c_str());
    e.command = joblog_command(line.substr(start));
    out[e.seq] = std::move(e);
  }
  return out;
}

std::string joblog_command(std::string_view column) {
  std::string cmd(column);
  for (char& ch : cmd)
    if (ch == '\0') ch = '\n';
  return cmd;
}

std::map<std::size_t, JoblogEntry> read_joblog(const std::string& path) {
  std::error_code ec;
  auto fd = platform::open_read(path, ec);
  if (ec) {
    if (ec.value() == ENOENT) return {};
    throw InputError(path + ": cannot read joblog: " + ec.message());
  }
  std::string text;
  if (auto err = platform::read_file(fd.get(), text)) throw InputError(path + ": cannot read joblog: " + err.message());
  return parse_joblog(text);
}

}  // namespace poolrun::core
