#pragma once

// The framing of kura-node's local protocols: the node agent <-> a workspace supervisor (over
// <run>/workspaces/<id>.sock) and the supervisor <-> kura-workspace-init inside the sandbox.
// Both are SOCK_SEQPACKET Unix sockets, so one send is one record: a record is a list of
// NUL-terminated fields, the first naming the request or reply ("job", "ok", "exit", ...),
// with file descriptors (PTY masters, pipe ends) attached by SCM_RIGHTS.
//
// Plain libc on purpose: kura-workspace-init links this file and nothing else of kura.
// Functions are thread-safe (they only touch the descriptors they are given).

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

#include "common/unique_fd.h"

namespace kura::node {

inline constexpr size_t kMaxRecordBytes = 64 * 1024;
inline constexpr size_t kMaxRecordFds = 4;

struct Record {
  std::vector<std::string> fields;
  std::vector<UniqueFd> fds;

  const std::string& kind() const {
    static const std::string kEmpty;
    return fields.empty() ? kEmpty : fields[0];
  }
  // The field at `i`, or "" when there are fewer.
  const std::string& field(size_t i) const {
    static const std::string kEmpty;
    return i < fields.size() ? fields[i] : kEmpty;
  }
};

// Sends one record with `fds` attached. Returns 0, or the errno of the failed sendmsg
// (EMSGSIZE when the fields exceed kMaxRecordBytes).
int SendRecord(int sock, const std::vector<std::string>& fields, const std::vector<int>& fds = {});

// Receives one record, blocking. Returns 0 and fills `out`; ECONNRESET at end of stream (the
// peer closed); another errno on failure. Received descriptors are O_CLOEXEC.
int ReceiveRecord(int sock, Record* out);

// A new SOCK_SEQPACKET socket bound and listening at `path` (an existing socket file there is
// replaced) with permission bits `mode`. Returns an invalid fd and sets errno on failure.
UniqueFd ListenSeqpacket(const std::string& path, unsigned mode);

// Connects to the SOCK_SEQPACKET socket at `path`. Invalid fd and errno on failure.
UniqueFd ConnectSeqpacket(const std::string& path);

// Reads a terminal's (or a pipe's) output for one message: the first read blocks (callers poll
// first), then reads go on while poll(2) says more is ready at once, until `limit` bytes. So a
// lone keystroke's echo is sent after one read, and a burst travels in few large messages (a
// PTY master hands out at most about 4 KiB per read). Appends to `out` in the order read.
// Returns the bytes appended; 0 at end of file; -1 with errno when the first read fails (EIO:
// every process of the terminal closed it). A failure after some bytes returns those bytes;
// the next call reports it.
ssize_t ReadCoalesced(int fd, size_t limit, std::string* out);

}  // namespace kura::node
