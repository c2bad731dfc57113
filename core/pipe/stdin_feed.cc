#include "core/pipe/stdin_feed.h"

#include <cerrno>

#include "platform/feed_io.h"

namespace poolrun::core {

FeedState pump(StdinFeed& f, int fd, int& error) {
  constexpr std::size_t kMaxWrite = 1u << 20;
  // Bounded work per call, so that one fast reader cannot starve the event loop.
  for (int round = 0; round < 16; ++round) {
    long n;
    if (f.data_pos < f.data.size()) {
      std::size_t len = f.data.size() - f.data_pos;
      n = platform::write_some(fd, f.data.data() + f.data_pos, len < kMaxWrite ? len : kMaxWrite);
      if (n > 0) f.data_pos += static_cast<std::size_t>(n);
    } else if (f.file_fd >= 0 && f.file_pos < f.file_length) {
      std::uint64_t left = f.file_length - f.file_pos;
      n = platform::splice_file_to_pipe(f.file_fd, f.file_offset + f.file_pos, fd,
                                        static_cast<std::size_t>(left < kMaxWrite ? left : kMaxWrite));
      if (n == 0) {
        // The file shrank under us: the range ends here.
        f.file_length = f.file_pos;
        continue;
      }
      if (n > 0) f.file_pos += static_cast<std::uint64_t>(n);
    } else {
      if (!f.refill) return FeedState::Done;
      f.data.clear();
      f.data_pos = 0;
      f.file_fd = -1;
      switch (f.refill(f)) {
        case StdinFeed::Refill::More: continue;
        case StdinFeed::Refill::Later: return FeedState::Waiting;
        case StdinFeed::Refill::End: return FeedState::Done;
      }
      return FeedState::Done;
    }
    if (n == -EAGAIN) return FeedState::Blocked;
    if (n < 0) {
      error = static_cast<int>(-n);
      return FeedState::Broken;
    }
    f.written += static_cast<std::uint64_t>(n);
  }
  return FeedState::Blocked;  // more to write: come back when the loop says it is writable
}

}  // namespace poolrun::core
