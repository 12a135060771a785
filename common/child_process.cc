#include "common/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace kura {

std::string ExitStatus::ToString() const {
  if (signaled) return absl::StrCat("killed by signal ", signal, " (", strsignal(signal), ")");
  return absl::StrCat("exited with code ", code);
}

absl::StatusOr<UniqueFd> PidfdOpen(pid_t pid) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return ErrnoError("pidfd_open", absl::StrCat(pid));
  return UniqueFd(fd);  // pidfds are close-on-exec by definition
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      pidfd_(std::move(other.pidfd_)),
      reaped_(std::exchange(other.reaped_, false)) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    KillAndReap();
    pid_ = std::exchange(other.pid_, -1);
    pidfd_ = std::move(other.pidfd_);
    reaped_ = std::exchange(other.reaped_, false);
  }
  return *this;
}

ChildProcess::~ChildProcess() { KillAndReap(); }

void ChildProcess::KillAndReap() {
  if (!running()) return;
  (void)Signal(SIGKILL);
  (void)Wait();
}

absl::StatusOr<ChildProcess> ChildProcess::Spawn(const std::vector<std::string>& argv,
                                                 const Options& options) {
  if (argv.empty()) return absl::InvalidArgumentError("Spawn: empty argv");
  // Everything the child needs is laid out before fork: it must not allocate afterwards.
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : options.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const bool inherit_env = options.env.empty();

  pid_t pid = ::fork();
  if (pid < 0) return ErrnoError("fork");
  if (pid == 0) {
    const int fds[3] = {options.stdin_fd, options.stdout_fd, options.stderr_fd};
    for (int target = 0; target < 3; ++target) {
      if (fds[target] >= 0 && ::dup2(fds[target], target) < 0) _exit(127);
    }
    if (options.new_session) ::setsid();
    if (inherit_env) {
      ::execvp(args[0], args.data());
    } else {
      ::execvpe(args[0], args.data(), envp.data());
    }
    _exit(127);
  }
  return Adopt(pid);
}

absl::StatusOr<ChildProcess> ChildProcess::Adopt(pid_t pid) {
  auto pidfd = PidfdOpen(pid);
  if (!pidfd.ok()) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return pidfd.status();
  }
  return ChildProcess(pid, std::move(*pidfd));
}

absl::Status ChildProcess::Signal(int sig) {
  if (!running()) return absl::FailedPreconditionError("signal: the process was already reaped");
  if (::syscall(SYS_pidfd_send_signal, pidfd_.get(), sig, nullptr, 0) < 0) {
    return ErrnoError("pidfd_send_signal", absl::StrCat(pid_));
  }
  return absl::OkStatus();
}

absl::StatusOr<ExitStatus> ChildProcess::Wait() {
  KURA_ASSIGN_OR_RETURN(auto status, WaitImpl(/*block=*/true));
  return *status;
}

absl::StatusOr<std::optional<ExitStatus>> ChildProcess::TryWait() {
  return WaitImpl(/*block=*/false);
}

absl::StatusOr<std::optional<ExitStatus>> ChildProcess::WaitImpl(bool block) {
  if (!running()) return absl::FailedPreconditionError("wait: the process was already reaped");
  siginfo_t info;
  std::memset(&info, 0, sizeof(info));
  const int flags = WEXITED | (block ? 0 : WNOHANG);
  int rc;
  do {
    rc = ::waitid(static_cast<idtype_t>(P_PIDFD), pidfd_.get(), &info, flags);
  } while (rc < 0 && errno == EINTR);
  if (rc < 0) return ErrnoError("waitid", absl::StrCat(pid_));
  if (info.si_pid == 0) return std::optional<ExitStatus>();
  reaped_ = true;
  ExitStatus status;
  if (info.si_code == CLD_EXITED) {
    status.code = info.si_status;
  } else {
    status.signaled = true;
    status.signal = info.si_status;
  }
  return std::optional<ExitStatus>(status);
}

}  // namespace kura
