#pragma once

namespace kura {

// Sends `fd` over the Unix socket `sock` with SCM_RIGHTS, carried by one byte. Async-signal-safe
// and allocation-free, so a child between fork and execve may call it. Returns false on failure
// (errno says why).
bool SendFd(int sock, int fd) noexcept;

// Receives one descriptor sent by SendFd, close-on-exec. Returns -1 on failure or when the
// message carried none.
int ReceiveFd(int sock) noexcept;

}  // namespace kura
