#include "platform/bench/worker.h"

#include <errno.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>

namespace poolrun::platform {

using std::int64_t;
using std::size_t;
using std::uint64_t;

namespace {

bool write_full(int fd, const char* p, size_t n) noexcept {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

void run_builtin_worker() noexcept {
  static WorkerConfig cfg;
  alignas(8) static char in[64 * 1024];
  alignas(8) static char out[64 * 1024];
  size_t in_len = 0, out_len = 0;
  // The config first.
  size_t got = 0;
  while (got < sizeof cfg) {
    ssize_t n = ::read(0, reinterpret_cast<char*>(&cfg) + got, sizeof cfg - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) ::_exit(n == 0 && got == 0 ? 0 : 1);
    got += static_cast<size_t>(n);
  }
  if (cfg.magic != kConfigMagic || cfg.path_len >= sizeof cfg.path) ::_exit(1);
  cfg.path[cfg.path_len] = '\0';
  auto flush = [&]() noexcept {
    if (out_len && !write_full(1, out, out_len)) ::_exit(1);
    out_len = 0;
  };
  for (;;) {
    // Run every whole chunk that has arrived, then write all their results at once.
    size_t off = 0;
    while (in_len - off >= sizeof(Chunk)) {
      Chunk ch;
      memcpy(&ch, in + off, sizeof ch);
      off += sizeof ch;
      // Results in pieces that fit the buffer: {first, count, failed, ns} then count values.
      uint64_t i = 0;
      while (i < ch.count) {
        if (out_len + sizeof(ChunkResult) + 8 > sizeof out) flush();
        const uint64_t room = (sizeof out - out_len - sizeof(ChunkResult)) / 8;
        const uint64_t k = ch.count - i < room ? ch.count - i : room;
        ChunkResult r = {ch.first + i, static_cast<uint32_t>(k), 0, 0, 0, 0};
        const size_t head = out_len;
        out_len += sizeof r;
        const int64_t start = now_ns();
        for (uint64_t j = 0; j < k; ++j) {
          int err;
          int64_t v = run_task(cfg, ch.first + i + j, err);
          if (err != 0 && r.failed++ == 0) r.err = err;
          memcpy(out + out_len, &v, 8);
          out_len += 8;
        }
        r.ns = now_ns() - start;
        memcpy(out + head, &r, sizeof r);
        i += k;
      }
    }
    memmove(in, in + off, in_len - off);
    in_len -= off;
    flush();
    ssize_t n = ::read(0, in + in_len, sizeof in - in_len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) ::_exit(1);
    if (n == 0) {
      if (in_len != 0) ::_exit(1);
      const Trailer t = {kTrailerMagic, runqueue_wait_ns()};
      ::_exit(write_full(1, reinterpret_cast<const char*>(&t), sizeof t) ? 0 : 1);
    }
    in_len += static_cast<size_t>(n);
  }
}


}  // namespace poolrun::platform
