// What poolrun inherited from whoever started it: its environment, the kind of its stdin, the host
// name. Small queries used by the batch subcommand; core code never reads `environ` itself.
#pragma once
#include <string>
#include <vector>

namespace poolrun::platform {

/// A copy of poolrun's environment as NAME=VALUE strings, in `environ` order.
std::vector<std::string> environment();

/// True if `fd` is a pipe (FIFO) or a socket: something a producer writes into, as opposed to a
/// terminal, /dev/null or a closed fd.
bool is_pipe_or_socket(int fd);

/// The host name (gethostname), or "localhost" when it cannot be read.
std::string host_name();

}  // namespace poolrun::platform
