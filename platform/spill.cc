#include "platform/spill.h"

#include <errno.h>
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

namespace poolrun::platform {

std::error_code SpillFile::append(std::string_view data, std::uint64_t& at) {
  if (!fd_) {
    std::error_code ec;
    fd_ = dir_.make_file(ec);
    if (ec) return ec;
  }
  at = end_;
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::pwrite(fd_.get(), data.data() + done, data.size() - done,
                         static_cast<off_t>(at + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      // A partial write is not counted: the next append writes over it.
      return {errno, std::system_category()};
    }
    done += static_cast<std::size_t>(n);
  }
  end_ += data.size();
  live_ += data.size();
  return {};
}

std::string SpillFile::where() const {
  if (!dir_.path().empty()) return dir_.path();
  const char* base = ::getenv("TMPDIR");
  return base && *base ? base : "/tmp";
}

std::error_code SpillFile::copy_to(std::uint64_t offset, std::uint64_t len, const Sink& sink) {
  std::vector<char> buf(256 * 1024);
  while (len > 0) {
    std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(len, buf.size()));
    ssize_t n = ::pread(fd_.get(), buf.data(), want, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return {n < 0 ? errno : EIO, std::system_category()};
    if (auto ec = sink(std::string_view(buf.data(), static_cast<std::size_t>(n))))
      return ec;
    offset += static_cast<std::uint64_t>(n);
    len -= static_cast<std::uint64_t>(n);
  }
  return {};
}

void SpillFile::release(std::uint64_t len) {
  live_ -= std::min(live_, len);
  if (live_ == 0 && end_ > 0 && fd_) {
    if (::ftruncate(fd_.get(), 0) == 0) end_ = 0;
  }
}

}  // namespace poolrun::platform
