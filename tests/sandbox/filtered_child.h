#pragma once

// Runs code in a forked child under a seccomp program, as the launcher would: the child sets
// no_new_privs, installs the program, hands the listener to the parent over a socket and runs
// the body; the parent serves the listener with a DenialMonitor. For the seccomp tests only.

#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "sandbox/seccomp.h"

namespace kura::sandbox::seccomp_testing {

// Exit codes of the child that are not an errno.
constexpr int kSucceeded = 200;
constexpr int kSetupFailed = 201;

struct ChildOutcome {
  bool signaled = false;
  int code = -1;  // exit code, or the signal when signaled
  uint64_t total = 0;
  std::vector<SeccompDenial> denials;

  uint64_t CountOf(const std::string& name) const {
    for (const SeccompDenial& d : denials) {
      if (d.syscall_name == name) return d.count;
    }
    return 0;
  }
};

inline bool SendFd(int sock, int fd) {
  char byte = 0;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
  return sendmsg(sock, &msg, 0) == 1;
}

inline int ReceiveFd(int sock) {
  char byte;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1) return -1;
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  if (cmsg == nullptr || cmsg->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
  return fd;
}

// Runs `body` in a child under `program` and returns how it ended and what was refused.
inline ChildOutcome RunFiltered(const SeccompProgram& program, const std::function<int()>& body) {
  ChildOutcome outcome;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    ADD_FAILURE() << "socketpair: " << strerror(errno);
    return outcome;
  }
  const pid_t pid = fork();
  if (pid == 0) {
    close(sv[0]);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(kSetupFailed);
    const int listener = program.InstallInChild();
    if (listener < 0 || !SendFd(sv[1], listener)) _exit(kSetupFailed);
    close(listener);
    close(sv[1]);
    _exit(body());
  }
  close(sv[1]);
  UniqueFd parent_end(sv[0]);
  if (pid < 0) {
    ADD_FAILURE() << "fork: " << strerror(errno);
    return outcome;
  }
  {
    DenialMonitor monitor(UniqueFd(ReceiveFd(parent_end.get())));
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    outcome.signaled = WIFSIGNALED(status);
    outcome.code = outcome.signaled ? WTERMSIG(status) : WEXITSTATUS(status);
    outcome.total = monitor.total();
    outcome.denials = monitor.Denials();
  }
  return outcome;
}

// Exits with the errno of a failed call, or kSucceeded.
inline int ErrnoOf(long result) { return result == -1 ? errno : kSucceeded; }

inline std::shared_ptr<const SeccompProgram> AnalysisOrDie() {
  auto program = SeccompProgram::Analysis();
  if (!program.ok()) abort();
  return *program;
}

}  // namespace kura::sandbox::seccomp_testing
