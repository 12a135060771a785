#include "node/wire.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace kura::node {
namespace {

bool FillAddress(const std::string& path, sockaddr_un* addr) {
  std::memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr->sun_path)) return false;
  std::memcpy(addr->sun_path, path.c_str(), path.size() + 1);
  return true;
}

}  // namespace

int SendRecord(int sock, const std::vector<std::string>& fields, const std::vector<int>& fds) {
  std::string payload;
  for (const std::string& f : fields) {
    payload.append(f);
    payload.push_back('\0');
  }
  if (payload.size() > kMaxRecordBytes || fds.size() > kMaxRecordFds) return EMSGSIZE;
  iovec iov{payload.data(), payload.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxRecordFds)];
  if (!fds.empty()) {
    std::memset(control, 0, sizeof(control));
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(cmsg), fds.data(), sizeof(int) * fds.size());
  }
  while (true) {
    ssize_t n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (n >= 0) return 0;
    if (errno != EINTR) return errno;
  }
}

int ReceiveRecord(int sock, Record* out) {
  out->fields.clear();
  out->fds.clear();
  std::string buffer(kMaxRecordBytes, '\0');
  iovec iov{buffer.data(), buffer.size()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxRecordFds)];
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return errno;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      out->fds.emplace_back(fd);
    }
  }
  if (n == 0) return ECONNRESET;
  if (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) return EMSGSIZE;
  size_t start = 0;
  for (size_t i = 0; i < static_cast<size_t>(n); ++i) {
    if (buffer[i] != '\0') continue;
    out->fields.emplace_back(buffer.data() + start, i - start);
    start = i + 1;
  }
  return 0;
}

UniqueFd ListenSeqpacket(const std::string& path, unsigned mode) {
  sockaddr_un addr;
  if (!FillAddress(path, &addr)) {
    errno = ENAMETOOLONG;
    return UniqueFd();
  }
  UniqueFd sock(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!sock) return sock;
  ::unlink(path.c_str());
  // The socket file is created with the umask's bits; narrow them before anyone can connect.
  mode_t old = ::umask(0777 & ~mode);
  int rc = ::bind(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  ::umask(old);
  if (rc != 0 || ::chmod(path.c_str(), mode) != 0 || ::listen(sock.get(), 64) != 0) {
    return UniqueFd();
  }
  return sock;
}

UniqueFd ConnectSeqpacket(const std::string& path) {
  sockaddr_un addr;
  if (!FillAddress(path, &addr)) {
    errno = ENAMETOOLONG;
    return UniqueFd();
  }
  UniqueFd sock(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!sock) return sock;
  int rc;
  do {
    rc = ::connect(sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return UniqueFd();
  return sock;
}

ssize_t ReadCoalesced(int fd, size_t limit, std::string* out) {
  // A PTY master hands out at most about 4 KiB per read; a small buffer on the stack spares a
  // lone keystroke's echo a large allocation.
  char buf[16 << 10];
  size_t got = 0;
  while (got < limit) {
    if (got > 0) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 0) <= 0 || (p.revents & POLLIN) == 0) break;
    }
    ssize_t n = ::read(fd, buf, std::min(sizeof(buf), limit - got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return got > 0 ? static_cast<ssize_t>(got) : n;
    out->append(buf, static_cast<size_t>(n));
    got += static_cast<size_t>(n);
  }
  return static_cast<ssize_t>(got);
}

}  // namespace kura::node
