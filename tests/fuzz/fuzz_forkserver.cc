// libFuzzer target: the forkserver's request parser (platform/process/forkserver_protocol.h).
// Input: one byte giving the number of fds received with the request (0..3, low bits) then the
// request as it would arrive: a 24-byte RequestHeader and its body. The parser must never read
// outside the body or the pointer array, and a request it accepts must encode back to the same
// bytes (the client's encoder and the server's parser agree on the format).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "platform/process/forkserver_protocol.h"

using namespace poolrun::platform;
using namespace poolrun::platform::forkserver;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 + sizeof(RequestHeader)) return 0;
  const int nfds = data[0] & 3;
  const int fds[3] = {10, 11, 12};
  RequestHeader h;
  std::memcpy(&h, data + 1, sizeof h);
  const std::size_t got = size - 1 - sizeof h;
  if (check_header(h, got) != ParseError::None) return 0;
  if (got != h.body_len) return 0;  // the server reads exactly body_len bytes
  // The body in a buffer of exactly its size, so ASan catches a read past it.
  std::vector<char> body(data + 1 + sizeof h, data + size);
  std::vector<char*> ptrs(pointer_slots(h));
  ParsedRequest req;
  const ParseError err = parse_request(h, fds, nfds, body.data(), ptrs.data(), req);
  if (err != ParseError::None) return 0;

  if (req.path == nullptr || req.argv == nullptr || req.envp == nullptr) std::abort();
  if (req.argv[h.argc] != nullptr || req.envp[h.envc] != nullptr) std::abort();
  int passed = 0;
  for (int t = 0; t < 3; ++t) passed += req.stdio[t] >= 0;
  if (passed != nfds) std::abort();
  if (req.builtin) return 0;

  // Round trip: what the client would send for this request is what was parsed.
  LaunchRequest lr;
  lr.path = req.path;
  lr.cwd = req.cwd ? req.cwd : "";
  for (std::uint32_t i = 0; i < h.argc; ++i) lr.argv.emplace_back(req.argv[i]);
  std::vector<std::string> env;
  for (std::uint32_t i = 0; i < h.envc; ++i) env.emplace_back(req.envp[i]);
  lr.env = &env;
  std::string again;
  if (!encode_command(again, h.fd_flags, lr, nullptr)) std::abort();
  if (again.size() != size - 1 || std::memcmp(again.data(), data + 1, again.size()) != 0) std::abort();
  return 0;
}
