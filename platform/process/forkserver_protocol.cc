#include "platform/process/forkserver_protocol.h"

#include <string.h>

namespace poolrun::platform::forkserver {

const char* parse_error_name(ParseError e) noexcept {
  switch (e) {
    case ParseError::None: return "ok";
    case ParseError::BadMagic: return "bad magic";
    case ParseError::BadFlags: return "bad flags";
    case ParseError::BodyTooLong: return "bad body length";
    case ParseError::TooManyStrings: return "more strings than body bytes";
    case ParseError::BadFds: return "fds do not match the flags";
    case ParseError::BadBody: return "malformed body";
    case ParseError::BadBuiltin: return "malformed built-in request";
  }
  return "?";
}

ParseError check_header(const RequestHeader& h, size_t body_got) noexcept {
  if (h.magic != kRequestMagic) return ParseError::BadMagic;
  if ((h.fd_flags & ~kKnownFlags) != 0) return ParseError::BadFlags;
  for (int t = 0; t < 3; ++t)
    if ((h.fd_flags & (kFdPassed << t)) && (h.fd_flags & (kFdClosed << t))) return ParseError::BadFlags;
  if (h.body_len > kMaxBody || body_got > h.body_len) return ParseError::BodyTooLong;
  // Every string ends with its NUL, so the body bounds the counts (and the pointer array).
  if (uint64_t{h.argc} + uint64_t{h.envc} + 2 > h.body_len) return ParseError::TooManyStrings;
  return ParseError::None;
}

ParseError parse_request(const RequestHeader& h, const int* fds, int nfds, char* body, char** ptrs,
                         ParsedRequest& out) noexcept {
  out = ParsedRequest{};
  out.builtin = (h.fd_flags & kBuiltin) != 0;

  // The stdio plan from the flags and the received fds (in slot order).
  int next = 0;
  for (int t = 0; t < 3; ++t) {
    if (h.fd_flags & (kFdPassed << t)) {
      if (next >= nfds) return ParseError::BadFds;
      out.stdio[t] = fds[next++];
      if (out.stdio[t] < 0) return ParseError::BadFds;
    } else if (h.fd_flags & (kFdClosed << t)) {
      out.stdio[t] = kCloseSlot;
    }
  }
  if (next != nfds) return ParseError::BadFds;

  // Split the body into path, cwd, argv and envp: pointers into the body, arrays in `ptrs`
  // (argv, its NULL, envp, its NULL).
  const size_t total = 2 + size_t{h.argc} + size_t{h.envc};
  char* p = body;
  char* const end = body + h.body_len;
  size_t i = 0;
  for (; i < total && p < end; ++i) {
    char* s = p;
    char* nul = static_cast<char*>(memchr(p, '\0', static_cast<size_t>(end - p)));
    if (nul == nullptr) break;
    p = nul + 1;
    if (i == 0) {
      out.path = s;
    } else if (i == 1) {
      out.cwd = *s ? s : nullptr;
    } else if (i < 2 + size_t{h.argc}) {
      ptrs[i - 2] = s;
    } else {
      ptrs[i - 2 + 1] = s;  // envp starts after argv's NULL
    }
  }
  if (i != total || p != end) return ParseError::BadBody;
  ptrs[h.argc] = nullptr;
  ptrs[size_t{h.argc} + 1 + h.envc] = nullptr;
  out.argv = ptrs;
  out.envp = ptrs + h.argc + 1;
  if (out.builtin && (h.argc != 0 || h.envc != 0 || out.cwd != nullptr || *out.path == '\0'))
    return ParseError::BadBuiltin;
  return ParseError::None;
}

uint32_t stdio_flags(const int slot_fds[3]) noexcept {
  uint32_t flags = 0;
  for (int t = 0; t < 3; ++t) flags |= slot_fds[t] >= 0 ? (kFdPassed << t) : (kFdClosed << t);
  return flags;
}

bool encode_command(std::string& out, uint32_t fd_flags, const LaunchRequest& req, char* const* env) {
  RequestHeader h = {};
  h.magic = kRequestMagic;
  h.fd_flags = fd_flags;
  size_t body = req.path.size() + 1 + req.cwd.size() + 1;
  for (const auto& a : req.argv) body += a.size() + 1;
  if (req.env) {
    for (const auto& e : *req.env) body += e.size() + 1;
    h.envc = static_cast<uint32_t>(req.env->size());
  } else {
    // The environment as it is now; its strings are copied straight from `env` below.
    for (char* const* e = env; e && *e; ++e) {
      body += strlen(*e) + 1;
      ++h.envc;
    }
  }
  h.argc = static_cast<uint32_t>(req.argv.size());
  h.body_len = body;
  out.clear();
  if (body > kMaxBody) return false;
  out.reserve(sizeof h + body);
  out.append(reinterpret_cast<const char*>(&h), sizeof h);
  auto put = [&out](const char* s, size_t n) { out.append(s, n).push_back('\0'); };
  put(req.path.data(), req.path.size());
  put(req.cwd.data(), req.cwd.size());
  for (const auto& a : req.argv) put(a.data(), a.size());
  if (req.env) {
    for (const auto& e : *req.env) put(e.data(), e.size());
  } else {
    for (char* const* e = env; e && *e; ++e) put(*e, strlen(*e));
  }
  return true;
}

void encode_builtin(std::string& out, uint32_t fd_flags, const char* id) {
  RequestHeader h = {};
  h.magic = kRequestMagic;
  h.fd_flags = fd_flags | kBuiltin;
  const size_t n = strlen(id);
  h.body_len = n + 2;  // the name, and an empty cwd
  out.assign(reinterpret_cast<const char*>(&h), sizeof h);
  out.append(id, n).push_back('\0');
  out.push_back('\0');
}

Report exited_report(int pid, int wstatus, int64_t utime_us, int64_t stime_us, int64_t maxrss_kib) noexcept {
  Report r = {};
  r.kind = kExited;
  r.pid = pid;
  r.status = wstatus;
  r.utime_us = utime_us;
  r.stime_us = stime_us;
  r.maxrss_kib = maxrss_kib;
  return r;
}

ExitStatus exit_status_of(const Report& r) noexcept {
  ExitStatus st = ExitStatus::of(r.pid, ChildState::from_wait_status(r.status));
  st.user_s = static_cast<double>(r.utime_us) / 1e6;
  st.sys_s = static_cast<double>(r.stime_us) / 1e6;
  st.max_rss_kib = static_cast<long>(r.maxrss_kib);
  return st;
}

}  // namespace poolrun::platform::forkserver
