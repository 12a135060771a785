#include "sandbox/pid_init.h"

#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include "sandbox/setup_report.h"

namespace kura::sandbox {
namespace {

void SetUpStdio(const ChildPlan& plan) noexcept {
  const int sock = plan.report_sock;
  // Always a new session: the workload never shares a controlling terminal with the launcher.
  if (setsid() < 0) FailStep(sock, SetupStep::kTerminal);
  if (plan.tty_slave >= 0) {
    if (ioctl(plan.tty_slave, TIOCSCTTY, 0) != 0) FailStep(sock, SetupStep::kTerminal);
    for (int fd = 0; fd < 3; ++fd) {
      if (dup2(plan.tty_slave, fd) < 0) FailStep(sock, SetupStep::kTerminal);
    }
    return;
  }
  for (int fd = 0; fd < 3; ++fd) {
    if (plan.stdio[fd] >= 0 && plan.stdio[fd] != fd && dup2(plan.stdio[fd], fd) < 0) {
      FailStep(sock, SetupStep::kTerminal);
    }
  }
}

void CloseAllButStdioAnd(int sock) noexcept {
  if ((sock > 3 && syscall(SYS_close_range, 3, sock - 1, 0) != 0) ||
      syscall(SYS_close_range, sock + 1, ~0u, 0) != 0) {
    FailStep(sock, SetupStep::kCloseFds);
  }
}

}  // namespace

void ExecWorkload(const ChildPlan& plan) noexcept {
  const int sock = plan.report_sock;
  SetUpStdio(plan);
  CloseAllButStdioAnd(sock);
  sigset_t none;
  sigemptyset(&none);
  if (sigprocmask(SIG_SETMASK, &none, nullptr) != 0) FailStep(sock, SetupStep::kSignals);
  // The filter goes on last, so that setup itself is not filtered; from here on a refused call
  // blocks until the launcher's DenialMonitor answers it, which it can only do once it holds the
  // listener: nothing but sendmsg, close and execve happens before the launcher has it.
  int listener = -1;
  if (plan.seccomp != nullptr) {
    listener = plan.seccomp->InstallInChild();
    if (listener < 0) {
      errno = -listener;
      FailStep(sock, SetupStep::kSeccomp);
    }
  }
  SetupReport ready;
  ready.step = SetupStep::kReady;
  if (!SendSetupReport(sock, ready, listener)) FailStep(sock, SetupStep::kSendListener);
  if (listener >= 0) close(listener);
  int error = ENOENT;
  for (const std::string& candidate : plan.exec_candidates) {
    execve(candidate.c_str(), plan.argv.data(), plan.envp.data());
    // Keep the most telling error: a found-but-refused file beats "not found".
    if (errno != ENOENT && errno != ENOTDIR) error = errno;
  }
  errno = error;
  FailStep(sock, SetupStep::kExecve);
}

void SuperviseWorkload(pid_t workload, const ChildPlan& plan) noexcept {
  // Init keeps no stdio of its own: the workload's ends of pipes and terminal stay the only ones.
  if (plan.tty_slave >= 0) close(plan.tty_slave);
  for (int fd : plan.stdio) {
    if (fd > 2) close(fd);
  }
  sigset_t all;
  sigfillset(&all);
  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&all, &info);
    if (sig < 0) continue;
    // SIGWINCH is the terminal's business: the pty signals the workload itself on a resize,
    // and init (in the launcher's process group) would only pass on the launcher's own.
    if (sig == SIGWINCH) continue;
    if (sig != SIGCHLD) {
      kill(workload, sig);
      continue;
    }
    int status = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      if (pid != workload) continue;
      SetupReport ended;
      ended.step = SetupStep::kWorkloadEnded;
      ended.status = status;
      SendSetupReport(plan.report_sock, ended);
      _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    }
  }
}

}  // namespace kura::sandbox
