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
#include "common/fd_passing.h"
#include "sandbox/seccomp.h"

namespace kura::sandbox::seccomp_testing {

using ::kura::ReceiveFd;
using ::kura::SendFd;

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
