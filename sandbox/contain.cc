// The sandbox's side of setup, as an ordered list of steps. It runs in the child of clone3
// (PID 1 of the new PID namespace, already in new user, mount, network, IPC and UTS
// namespaces), between clone and execve: only system calls on memory the launcher prepared, no
// allocation, no logging. The first step that fails is reported as {step, errno} on the setup
// socket and the process _exits.
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "sandbox/child_plan.h"
#include "sandbox/net.h"
#include "sandbox/pid_init.h"
#include "sandbox/setup_report.h"
#include "sandbox/user.h"

namespace kura::sandbox {
namespace {

// Closes every descriptor except `keep` (unsorted, may hold -1 and duplicates).
bool CloseAllExcept(int* keep, int count) noexcept {
  std::sort(keep, keep + count);
  unsigned int next = 0;
  for (int i = 0; i < count; ++i) {
    if (keep[i] < 0 || static_cast<unsigned int>(keep[i]) < next) continue;
    if (static_cast<unsigned int>(keep[i]) > next &&
        syscall(SYS_close_range, next, keep[i] - 1, 0) != 0) {
      return false;
    }
    next = static_cast<unsigned int>(keep[i]) + 1;
  }
  return syscall(SYS_close_range, next, ~0u, 0) == 0;
}

// The init shares the launcher's memory copy-on-write: its argv (host paths of every bind
// source) would be readable in the sandbox as /proc/1/cmdline, its name as /proc/1/comm, and its
// environment holds whatever the launcher was given. Overwrite all three before anything of the
// sandbox can look.
void HideLauncherStrings(const ChildPlan& plan) noexcept {
  static constexpr char kInitName[] = "kura-init";
  if (plan.launcher_args_end > plan.launcher_args_start) {
    char* args = reinterpret_cast<char*>(plan.launcher_args_start);
    const size_t size = plan.launcher_args_end - plan.launcher_args_start;
    std::memset(args, 0, size);
    std::memcpy(args, kInitName, std::min(size - 1, sizeof(kInitName) - 1));
  }
  if (plan.launcher_env_end > plan.launcher_env_start) {
    std::memset(reinterpret_cast<char*>(plan.launcher_env_start), 0,
                plan.launcher_env_end - plan.launcher_env_start);
  }
  prctl(PR_SET_NAME, kInitName, 0, 0, 0);
}

void SetDeathSignal(int sock) noexcept {
  // The launcher's death kills init, and with it the whole PID namespace. The kernel clears the
  // setting whenever the uid or gid changes, so this comes after AssumeSandboxIdentity; if the
  // launcher died before it took effect, its end of the setup socket is closed: leave.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) FailStep(sock, SetupStep::kDeathSignal);
  pollfd launcher{sock, POLLRDHUP, 0};
  if (poll(&launcher, 1, 0) > 0 && (launcher.revents & (POLLHUP | POLLRDHUP)) != 0) _exit(1);
}

void CloseInheritedFds(const ChildPlan& plan) noexcept {
  int keep[] = {
      0, 1, 2, plan.report_sock, plan.stdio[0], plan.stdio[1], plan.stdio[2], plan.tty_slave};
  if (!CloseAllExcept(keep, sizeof(keep) / sizeof(keep[0]))) {
    FailStep(plan.report_sock, SetupStep::kCloseFds);
  }
}

// Waits for the launcher to write the id maps and place the process in its cgroup. EOF means
// the launcher is gone (or gave up): leave quietly.
void AwaitLauncher(int sock) noexcept {
  char go;
  ssize_t n;
  do {
    n = read(sock, &go, 1);
  } while (n < 0 && errno == EINTR);
  if (n == 0) _exit(kSetupFailedExitCode);
  if (n < 0) FailStep(sock, SetupStep::kAwaitLauncher);
}

// Ignored signals and blocked masks survive execve: start from the defaults, then block
// everything (init waits for signals with sigwaitinfo; the workload unblocks before execve).
void ResetSignals(int sock) noexcept {
  struct sigaction action {};
  action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) sigaction(sig, &action, nullptr);
  }
  sigset_t all;
  sigfillset(&all);
  if (sigprocmask(SIG_SETMASK, &all, nullptr) != 0) FailStep(sock, SetupStep::kSignals);
  // Out of the launcher's process group: a ^C on the launcher's terminal reaches the workload
  // once, forwarded by the launcher, not a second time through init.
  if (setpgid(0, 0) != 0) FailStep(sock, SetupStep::kSignals);
}

void EnterCgroupNamespace(int sock) noexcept {
  // After the launcher placed us in the sandbox's cgroup, so that it becomes the namespace root.
  if (unshare(CLONE_NEWCGROUP) != 0) FailStep(sock, SetupStep::kCgroupNamespace);
}

void SetHostname(const ChildPlan& plan) noexcept {
  if (sethostname(plan.hostname.data(), plan.hostname.size()) != 0) {
    FailStep(plan.report_sock, SetupStep::kHostname);
  }
}

void SetResourceLimits(const ChildPlan& plan) noexcept {
  rlimit current{};
  if (getrlimit(RLIMIT_NOFILE, &current) != 0) FailStep(plan.report_sock, SetupStep::kRlimits);
  // Raising a hard limit needs CAP_SYS_RESOURCE in the initial namespace: only ever lower.
  rlim_t nofile = std::min<rlim_t>(plan.nofile, current.rlim_max);
  rlimit files{nofile, nofile};
  rlimit no_core{0, 0};
  rlimit fsize{RLIM_INFINITY, RLIM_INFINITY};
  if (plan.file_size_bytes > 0) fsize = {plan.file_size_bytes, plan.file_size_bytes};
  if (setrlimit(RLIMIT_NOFILE, &files) != 0 || setrlimit(RLIMIT_CORE, &no_core) != 0 ||
      (plan.file_size_bytes > 0 && setrlimit(RLIMIT_FSIZE, &fsize) != 0)) {
    FailStep(plan.report_sock, SetupStep::kRlimits);
  }
}

void EnterWorkingDirectory(const ChildPlan& plan) noexcept {
  if (chdir(plan.cwd.c_str()) != 0) FailStep(plan.report_sock, SetupStep::kChdir);
}

}  // namespace

void ContainAndRun(const ChildPlan& plan) noexcept {
  const int sock = plan.report_sock;
  CloseInheritedFds(plan);
  HideLauncherStrings(plan);
  AwaitLauncher(sock);
  ResetSignals(sock);
  EnterCgroupNamespace(sock);
  AssumeSandboxIdentity(plan.uid, plan.gid, sock);
  SetDeathSignal(sock);
  ApplyMountPlan(plan.mounts, sock);
  SetHostname(plan);
  BringUpLoopback(sock);
  SetResourceLimits(plan);
  DropPrivileges(sock);
  EnterWorkingDirectory(plan);
  pid_t workload = static_cast<pid_t>(syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, 0));
  if (workload < 0) FailStep(sock, SetupStep::kForkWorkload);
  if (workload == 0) ExecWorkload(plan);
  SuperviseWorkload(workload, plan);
}

}  // namespace kura::sandbox
