// The forkserver's server process (start method "forkserver"; see forkserver_server.cc).
#pragma once

namespace poolrun::platform::forkserver {

/// Runs the server on `sock` (its end of the socketpair) in a freshly forked process: serves
/// launch requests (forkserver_protocol.h) until poolrun's end closes, then ends the jobs still
/// running and _exits. Allocation-free, system calls only. Does not return.
[[noreturn]] void run_server(int sock) noexcept;

}  // namespace poolrun::platform::forkserver
