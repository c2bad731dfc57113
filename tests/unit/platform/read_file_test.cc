// platform::read_file on real fds: a file written larger than one read, a pipe whose writer closes,
// the tail kept of a long stream with the bytes dropped counted, and the error of a bad fd.
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <thread>

#include "platform/fd.h"

namespace {

using poolrun::platform::read_file;

std::string pattern(std::size_t n) {
  std::string s;
  s.reserve(n);
  for (std::size_t i = 0; i < n; ++i) s += static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

/// A temporary file holding `text`, open for reading at offset 0 (the file itself is unlinked).
poolrun::platform::UniqueFd temp_file(const std::string& text) {
  char name[] = "/tmp/poolrun_read_file_XXXXXX";
  int fd = ::mkostemp(name, O_CLOEXEC);
  REQUIRE(fd >= 0);
  ::unlink(name);
  REQUIRE(poolrun::platform::write_all(fd, text).value() == 0);
  REQUIRE(::lseek(fd, 0, SEEK_SET) == 0);
  return poolrun::platform::UniqueFd(fd);
}

}  // namespace

TEST_CASE("read_file reads a file to its end, appending", "[platform]") {
  const std::string text = pattern(300 * 1024 + 17);  // several 64 KiB reads and a short one
  auto fd = temp_file(text);
  std::string out = "before:";
  REQUIRE_FALSE(read_file(fd.get(), out));
  CHECK(out == "before:" + text);
}

TEST_CASE("read_file reads a pipe until every writer closed it", "[platform]") {
  poolrun::platform::Pipe p;
  REQUIRE_FALSE(poolrun::platform::make_pipe(p));
  const std::string text = pattern(200 * 1024);  // more than the pipe holds: reader and writer alternate
  std::thread writer([&] {
    poolrun::platform::write_all(p.write.get(), text);
    p.write.reset();
  });
  std::string out;
  auto ec = read_file(p.read.get(), out);
  writer.join();
  CHECK_FALSE(ec);
  CHECK(out == text);
}

TEST_CASE("read_file with keep_tail keeps the last bytes and counts what it dropped", "[platform]") {
  const std::string text = pattern(1000 * 1000 + 3);
  SECTION("a long file") {
    auto fd = temp_file(text);
    std::string out;
    std::uint64_t dropped = 5;  // added to, not overwritten
    REQUIRE_FALSE(read_file(fd.get(), out, 1000, &dropped));
    CHECK(out == text.substr(text.size() - 1000));
    CHECK(dropped == 5 + text.size() - 1000);
  }
  SECTION("a file shorter than the tail is kept whole") {
    auto fd = temp_file("short\n");
    std::string out;
    std::uint64_t dropped = 0;
    REQUIRE_FALSE(read_file(fd.get(), out, 1000, &dropped));
    CHECK(out == "short\n");
    CHECK(dropped == 0);
  }
}

TEST_CASE("read_file returns the errno of a failed read", "[platform]") {
  std::string out;
  auto ec = read_file(-1, out);
  CHECK(ec.value() == EBADF);
  CHECK(out.empty());
  // A directory opens but cannot be read.
  int dir = ::open("/", O_RDONLY | O_CLOEXEC);
  REQUIRE(dir >= 0);
  poolrun::platform::UniqueFd owned(dir);
  CHECK(read_file(dir, out).value() == EISDIR);
}
