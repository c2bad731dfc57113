#include "platform/map_io.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

namespace poolrun::platform {

std::optional<std::uint64_t> count_records_ahead(int fd, std::string_view delim) {
  struct stat st;
  if (delim.empty() || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  off_t off = ::lseek(fd, 0, SEEK_CUR);
  if (off < 0) return std::nullopt;
  std::vector<char> buf(1 << 20);
  std::uint64_t count = 0;
  std::string carry;  // a multi-byte delimiter may straddle two reads
  bool any = false;
  std::size_t tail_len = 0;  // 1 when bytes follow the last delimiter seen
  for (;;) {
    ssize_t n = ::pread(fd, buf.data(), buf.size(), off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return std::nullopt;
    }
    if (n == 0) break;
    off += n;
    any = true;
    std::string_view data(buf.data(), static_cast<std::size_t>(n));
    if (delim.size() == 1) {
      const char* p = data.data();
      const char* end = p + data.size();
      while (p < end) {
        const void* q = std::memchr(p, delim[0], static_cast<std::size_t>(end - p));
        if (!q) break;
        ++count;
        p = static_cast<const char*>(q) + 1;
      }
      tail_len = (p == end) ? 0 : 1;
    } else {
      std::string window = carry + std::string(data);
      std::size_t pos = 0, f;
      while ((f = window.find(delim, pos)) != std::string::npos) {
        ++count;
        pos = f + delim.size();
      }
      std::size_t keep = std::min(window.size() - pos, delim.size() - 1);
      carry = window.substr(window.size() - keep);
      tail_len = (pos == window.size()) ? 0 : 1;
    }
  }
  if (any && tail_len > 0) ++count;  // a last record without its delimiter
  return count;
}

}  // namespace poolrun::platform
