// The forkserver's wire format (start method "forkserver", platform/process/forkserver_server.cc
// and forkserver_client.cc): message layout, encoding, and a pure request parser.
//
// One SOCK_STREAM socketpair, both ends close-on-exec. Integers are native-endian (both sides are
// the same binary).
//
// poolrun -> server, one launch request at a time (poolrun waits for the answer before the next):
//   RequestHeader {magic, fd_flags, argc, envc, body_len}, then body_len bytes of body:
//     path NUL, cwd NUL (empty: the server's cwd, which is poolrun's at start-up),
//     argc strings each NUL-terminated (argv), envc strings each NUL-terminated (envp).
//   The job's stdio fds travel as SCM_RIGHTS on the same sendmsg as the header's first bytes, in
//   slot order; fd_flags bit t (t = 0..2) says slot t's fd is among them, bit 4+t says the child
//   must have fd t closed. poolrun always sends either an fd or "closed" for each slot: "inherit"
//   (-1 in LaunchRequest) is resolved on poolrun's side to poolrun's own fd t, so the job gets what
//   it would get from spawn even though the server's own 0..2 are /dev/null. The environment is
//   always sent in full (poolrun's current environ for "inherit"), for the same reason.
//   The server receives with MSG_CMSG_CLOEXEC, so passed fds never leak into later jobs.
//   Request kind "run a built-in entry point" (Launcher::launch_builtin): fd_flags bit kBuiltin,
//   path = the entry's name, cwd, argv and envp empty. The server then forks for real (the entry
//   runs code in the server's image, a copy of poolrun made at start-up, so vfork cannot serve).
//
// server -> poolrun, fixed-size Report records (40 bytes) on the same socket:
//   kLaunched {pid}                — the answer to a request: exec succeeded;
//   kFailed   {stage, errno}       — the answer to a request: the child failed (and was reaped);
//   kExited   {pid, wait status, utime_us, stime_us, maxrss_kib} — a launched job ended.
//   A job's kExited always follows its kLaunched. Exit reports may arrive at any time, so poolrun
//   queues those it reads while waiting for an answer.
#pragma once
#include <stddef.h>
#include <stdint.h>

#include <string>

#include "platform/process/launcher.h"

namespace poolrun::platform::forkserver {

inline constexpr uint32_t kRequestMagic = 0x50524653;  // "PRFS"
inline constexpr uint32_t kFdPassed = 1u;              // << slot
inline constexpr uint32_t kFdClosed = 1u << 4;         // << slot
inline constexpr uint32_t kBuiltin = 1u << 8;          // run a built-in entry point, not a command
/// Every flag a request may carry; any other bit makes it invalid.
inline constexpr uint32_t kKnownFlags = (7u * kFdPassed) | (7u * kFdClosed) | kBuiltin;
/// Upper bound on one request's body: far above any argv + envp execve accepts, low enough that
/// a corrupted length cannot make the server map absurd amounts of memory.
inline constexpr uint64_t kMaxBody = uint64_t{1} << 30;

struct RequestHeader {
  uint32_t magic;
  uint32_t fd_flags;
  uint32_t argc;
  uint32_t envc;
  uint64_t body_len;
};
static_assert(sizeof(RequestHeader) == 24);

enum ReportKind : uint32_t { kLaunched = 1, kFailed = 2, kExited = 3 };

struct Report {
  uint32_t kind;
  int32_t pid;
  int32_t status;  ///< kExited: wait status; kFailed: errno
  int32_t stage;   ///< kFailed: a LaunchStage
  int64_t utime_us;
  int64_t stime_us;
  int64_t maxrss_kib;
};
static_assert(sizeof(Report) == 40);

/// Why a request is rejected. Header errors mean the stream is out of step (the server then ends
/// the channel); body and fd errors are answered with kFailed (stage Forkserver, EBADMSG / EBADF).
enum class ParseError {
  None,
  BadMagic,       ///< header: not kRequestMagic
  BadFlags,       ///< header: unknown bits, or a slot both passed and closed
  BodyTooLong,    ///< header: body_len > kMaxBody, or less than the body bytes already received
  TooManyStrings, ///< header: more strings than the body has bytes for
  BadFds,         ///< the fds received do not match the slots the flags announce
  BadBody,        ///< the body is not exactly 2 + argc + envc NUL-terminated strings
  BadBuiltin,     ///< a built-in request with an empty name, or with argv/envp
};

/// The error's name ("bad magic", ...), for tests and diagnostics. Never nullptr.
const char* parse_error_name(ParseError e) noexcept;

/// A parsed request. Pointers point into the body and the pointer array given to parse_request().
struct ParsedRequest {
  bool builtin = false;       ///< kBuiltin: `path` is the entry's name
  const char* path = nullptr;
  const char* cwd = nullptr;  ///< nullptr: keep the server's
  char** argv = nullptr;      ///< NULL-terminated (argc entries)
  char** envp = nullptr;      ///< NULL-terminated (envc entries)
  /// Per slot: the received fd, -1 (keep the server's own) or kCloseSlot.
  int stdio[3] = {-1, -1, -1};
};
/// ParsedRequest::stdio: the child must have this fd closed.
inline constexpr int kCloseSlot = -2;

/// Checks a header before its body is read. `body_got`: body bytes that arrived with it. Pure.
ParseError check_header(const RequestHeader& h, size_t body_got) noexcept;

/// Pointer slots parse_request() needs for `h` (argv and envp, each NULL-terminated).
inline size_t pointer_slots(const RequestHeader& h) noexcept {
  return size_t{h.argc} + 1 + size_t{h.envc} + 1;
}

/// Parses one complete request: the header (already accepted by check_header), the `nfds` fds
/// received with it (numbers only: nothing is done with them) and the body (`h.body_len` bytes at
/// `body`, followed by one writable byte). `ptrs` must hold pointer_slots(h) entries. Pure: no
/// system call, no allocation (the server is allocation-free). Returns ParseError::None and fills
/// `out`, or the first problem found.
ParseError parse_request(const RequestHeader& h, const int* fds, int nfds, char* body, char** ptrs,
                         ParsedRequest& out) noexcept;

/// The header's flags for a stdio plan: per slot, an fd to pass (>= 0) or "closed" (< 0).
uint32_t stdio_flags(const int slot_fds[3]) noexcept;

/// Encodes a request into `out` (cleared first): a command with `h.fd_flags` already set, its
/// environment `env` (nullptr-terminated NAME=VALUE strings). Returns false when the body would
/// exceed kMaxBody (the command line is too long: E2BIG).
bool encode_command(std::string& out, uint32_t fd_flags, const LaunchRequest& req, char* const* env);

/// Encodes a built-in entry request into `out` (cleared first).
void encode_builtin(std::string& out, uint32_t fd_flags, const char* id);

/// An exit report for `pid` from a wait status and resource usage in microseconds / KiB.
Report exited_report(int pid, int wstatus, int64_t utime_us, int64_t stime_us, int64_t maxrss_kib) noexcept;

/// The ExitStatus a kExited report stands for.
ExitStatus exit_status_of(const Report& r) noexcept;

}  // namespace poolrun::platform::forkserver
