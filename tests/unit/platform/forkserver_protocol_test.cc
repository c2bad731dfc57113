// The forkserver's request parser (platform/process/forkserver_protocol.h): what the client encodes
// the server parses back; malformed headers, bodies and fd sets are rejected with their reason.
// (tests/fuzz/fuzz_forkserver.cc explores the same parser with arbitrary bytes.)
#include <catch2/catch.hpp>
#include <cstring>
#include <string>
#include <vector>

#include "platform/process/forkserver_protocol.h"

namespace {

using namespace poolrun::platform;
using namespace poolrun::platform::forkserver;

/// A request as the server would have it: the header, the body (with room for the parser), the
/// pointer array.
struct Wire {
  RequestHeader h;
  std::vector<char> body;
  std::vector<char*> ptrs;
};

Wire split(const std::string& bytes) {
  Wire w;
  REQUIRE(bytes.size() >= sizeof w.h);
  std::memcpy(&w.h, bytes.data(), sizeof w.h);
  w.body.assign(bytes.begin() + sizeof w.h, bytes.end());
  w.ptrs.resize(pointer_slots(w.h));
  return w;
}

ParseError parse(Wire& w, const int* fds, int nfds, ParsedRequest& out) {
  ParseError e = check_header(w.h, w.body.size());
  if (e != ParseError::None) return e;
  if (w.body.size() != w.h.body_len) return ParseError::BadBody;
  return parse_request(w.h, fds, nfds, w.body.data(), w.ptrs.data(), out);
}

}  // namespace

TEST_CASE("forkserver protocol: a command round-trips", "[forkserver]") {
  LaunchRequest req;
  req.path = "/bin/echo";
  req.argv = {"echo", "a b", ""};
  std::vector<std::string> env = {"A=1", "B="};
  req.env = &env;
  req.cwd = "/tmp";
  const int slot[3] = {5, -1, 7};
  std::string bytes;
  REQUIRE(encode_command(bytes, stdio_flags(slot), req, nullptr));
  Wire w = split(bytes);
  const int fds[2] = {5, 7};
  ParsedRequest out;
  REQUIRE(parse(w, fds, 2, out) == ParseError::None);
  CHECK(!out.builtin);
  CHECK(std::string(out.path) == "/bin/echo");
  CHECK(std::string(out.cwd) == "/tmp");
  REQUIRE(out.argv[0] != nullptr);
  CHECK(std::string(out.argv[1]) == "a b");
  CHECK(std::string(out.argv[2]).empty());
  CHECK(out.argv[3] == nullptr);
  CHECK(std::string(out.envp[0]) == "A=1");
  CHECK(std::string(out.envp[1]) == "B=");
  CHECK(out.envp[2] == nullptr);
  CHECK(out.stdio[0] == 5);
  CHECK(out.stdio[1] == kCloseSlot);
  CHECK(out.stdio[2] == 7);
}

TEST_CASE("forkserver protocol: the inherited environment is sent in full", "[forkserver]") {
  LaunchRequest req;
  req.path = "/bin/true";
  req.argv = {"true"};
  char e1[] = "X=1";
  char e2[] = "Y=2";
  char* environ_like[] = {e1, e2, nullptr};
  const int slot[3] = {-1, -1, -1};
  std::string bytes;
  REQUIRE(encode_command(bytes, stdio_flags(slot), req, environ_like));
  Wire w = split(bytes);
  ParsedRequest out;
  REQUIRE(parse(w, nullptr, 0, out) == ParseError::None);
  CHECK(out.cwd == nullptr);
  CHECK(std::string(out.envp[1]) == "Y=2");
  for (int t = 0; t < 3; ++t) CHECK(out.stdio[t] == kCloseSlot);
}

TEST_CASE("forkserver protocol: a built-in entry request", "[forkserver]") {
  const int slot[3] = {3, 4, 2};
  std::string bytes;
  encode_builtin(bytes, stdio_flags(slot), "bench-worker");
  Wire w = split(bytes);
  ParsedRequest out;
  REQUIRE(parse(w, slot, 3, out) == ParseError::None);
  CHECK(out.builtin);
  CHECK(std::string(out.path) == "bench-worker");
  CHECK(out.argv[0] == nullptr);
}

TEST_CASE("forkserver protocol: malformed requests are rejected with their reason", "[forkserver]") {
  LaunchRequest req;
  req.path = "/bin/true";
  req.argv = {"true", "x"};
  std::vector<std::string> env;
  req.env = &env;
  const int slot[3] = {0, 1, 2};
  std::string good;
  REQUIRE(encode_command(good, stdio_flags(slot), req, nullptr));
  ParsedRequest out;

  SECTION("wrong magic") {
    Wire w = split(good);
    w.h.magic ^= 1;
    CHECK(parse(w, slot, 3, out) == ParseError::BadMagic);
  }
  SECTION("unknown flag bits, or a slot both passed and closed") {
    Wire w = split(good);
    w.h.fd_flags |= 1u << 20;
    CHECK(parse(w, slot, 3, out) == ParseError::BadFlags);
    w = split(good);
    w.h.fd_flags |= kFdClosed;
    CHECK(parse(w, slot, 3, out) == ParseError::BadFlags);
  }
  SECTION("a body length beyond the limit or below what arrived") {
    Wire w = split(good);
    w.h.body_len = kMaxBody + 1;
    CHECK(check_header(w.h, 0) == ParseError::BodyTooLong);
    w = split(good);
    CHECK(check_header(w.h, w.body.size() + 1) == ParseError::BodyTooLong);
  }
  SECTION("more strings than the body has bytes for") {
    Wire w = split(good);
    w.h.argc = 0xFFFFFFFFu;
    CHECK(check_header(w.h, 0) == ParseError::TooManyStrings);
  }
  SECTION("fds that do not match the flags") {
    Wire w = split(good);
    CHECK(parse(w, slot, 2, out) == ParseError::BadFds);
    w = split(good);
    const int four[3] = {0, 1, 2};
    w.h.fd_flags = kFdPassed | (kFdClosed << 1) | (kFdClosed << 2);
    CHECK(parse(w, four, 3, out) == ParseError::BadFds);
  }
  SECTION("a string without its NUL, or bytes after the last string") {
    Wire w = split(good);
    w.body.back() = 'x';
    CHECK(parse(w, slot, 3, out) == ParseError::BadBody);
    w = split(good);
    w.h.argc = 1;  // the body holds one string more than announced
    w.ptrs.resize(pointer_slots(w.h));
    CHECK(parse(w, slot, 3, out) == ParseError::BadBody);
  }
  SECTION("a built-in request with arguments") {
    Wire w = split(good);
    w.h.fd_flags |= kBuiltin;
    CHECK(parse(w, slot, 3, out) == ParseError::BadBuiltin);
  }
  CHECK(std::string(parse_error_name(ParseError::BadMagic)) == "bad magic");
}
