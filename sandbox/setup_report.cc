#include "sandbox/setup_report.h"

#include <cstring>

namespace kura::sandbox {

const char* SetupStepName(SetupStep step) {
  switch (step) {
    case SetupStep::kNone:
      return "none";
    case SetupStep::kAwaitLauncher:
      return "await_launcher";
    case SetupStep::kDeathSignal:
      return "death_signal";
    case SetupStep::kCloseFds:
      return "close_fds";
    case SetupStep::kSignals:
      return "signals";
    case SetupStep::kCgroupNamespace:
      return "cgroup_namespace";
    case SetupStep::kIdentity:
      return "identity";
    case SetupStep::kMountPrivate:
      return "mount_private";
    case SetupStep::kMountRoot:
      return "mount_root";
    case SetupStep::kMountBind:
      return "mount_bind";
    case SetupStep::kMountFs:
      return "mount_fs";
    case SetupStep::kMountSymlink:
      return "mount_symlink";
    case SetupStep::kMountFile:
      return "mount_file";
    case SetupStep::kPivotRoot:
      return "pivot_root";
    case SetupStep::kRemountRootRo:
      return "remount_root_ro";
    case SetupStep::kHostname:
      return "hostname";
    case SetupStep::kLoopback:
      return "loopback";
    case SetupStep::kRlimits:
      return "rlimits";
    case SetupStep::kSecurebits:
      return "securebits";
    case SetupStep::kCapabilities:
      return "capabilities";
    case SetupStep::kNoNewPrivs:
      return "no_new_privs";
    case SetupStep::kDumpable:
      return "dumpable";
    case SetupStep::kChdir:
      return "chdir";
    case SetupStep::kForkWorkload:
      return "fork_workload";
    case SetupStep::kTerminal:
      return "terminal";
    case SetupStep::kSeccomp:
      return "seccomp";
    case SetupStep::kSendListener:
      return "send_listener";
    case SetupStep::kExecve:
      return "execve";
    case SetupStep::kReady:
      return "ready";
    case SetupStep::kWorkloadEnded:
      return "workload_ended";
  }
  return "unknown";
}

bool SendSetupReport(int sock, const SetupReport& report, int fd) noexcept {
  iovec iov{const_cast<SetupReport*>(&report), sizeof(report)};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  if (fd >= 0) {
    std::memset(control, 0, sizeof(control));
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  }
  ssize_t n;
  do {
    n = sendmsg(sock, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n == static_cast<ssize_t>(sizeof(report));
}

void FailStep(int sock, SetupStep step, int detail) noexcept {
  SetupReport report;
  report.step = step;
  report.error = errno;
  report.detail = detail;
  SendSetupReport(sock, report);
  _exit(kSetupFailedExitCode);
}

}  // namespace kura::sandbox
