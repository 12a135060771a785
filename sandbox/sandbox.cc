#include "sandbox/sandbox.h"

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstring>

#include "common/logging.h"
#include "common/status.h"
#include "sandbox/pty.h"
#include "sandbox/setup_report.h"

namespace kura::sandbox {
namespace {

// Receives one setup report, and the descriptor attached to it if any. Returns false at EOF, or
// when `block` is false and nothing is queued.
bool ReceiveReport(int sock, bool block, SetupReport* report, UniqueFd* attached) {
  iovec iov{report, sizeof(*report)};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | (block ? 0 : MSG_DONTWAIT));
  } while (n < 0 && errno == EINTR);
  if (n != static_cast<ssize_t>(sizeof(*report))) return false;
  for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg != nullptr; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
    if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(cmsg), sizeof(fd));
      attached->Reset(fd);
    }
  }
  return true;
}

}  // namespace

Sandbox::Sandbox(Sandbox&&) noexcept = default;
Sandbox& Sandbox::operator=(Sandbox&&) noexcept = default;

Sandbox::~Sandbox() {
  if (init_.running()) {
    KillAll();
    init_.Wait().IgnoreError();
  }
  monitor_.reset();
  DestroyCgroupLater(std::move(cgroup_));
}

void Sandbox::ReadReports(bool block_until_ready) {
  SetupReport report;
  UniqueFd attached;
  while (ReceiveReport(report_sock_.get(), block_until_ready, &report, &attached)) {
    switch (report.step) {
      case SetupStep::kReady:
        ready_ = true;
        // A refused syscall blocks until it is answered: serve the listener at once.
        if (attached) monitor_ = std::make_unique<DenialMonitor>(std::move(attached));
        if (block_until_ready) return;
        break;
      case SetupStep::kWorkloadEnded:
        workload_status_ = report.status;
        break;
      default:
        failed_step_ = SetupStepName(report.step);
        setup_errno_ = report.error;
        failure_detail_ = report.detail;
        if (block_until_ready) return;
        break;
    }
  }
  if (block_until_ready && !ready_ && failed_step_.empty()) {
    failed_step_ = "init_died";  // init ended before reporting anything
  }
}

void Sandbox::KillAll() {
  // SIGKILL to PID 1 of the namespace takes every process of the sandbox with it.
  init_.Signal(SIGKILL).IgnoreError();
}

absl::Status Sandbox::Signal(int sig) { return init_.Signal(sig); }

absl::Status Sandbox::Kill() {
  if (!init_.running()) return absl::OkStatus();
  kill_requested_ = true;
  KillAll();
  return absl::OkStatus();
}

absl::Status Sandbox::Resize(uint32_t rows, uint32_t cols) {
  if (!pty_master_) return absl::FailedPreconditionError("sandbox has no terminal");
  return ResizeTerminal(pty_master_.get(), rows, cols);
}

absl::StatusOr<v1::SandboxResult> Sandbox::Wait() {
  if (result_.has_value()) return *result_;
  for (;;) {
    int timeout_ms = -1;
    if (deadline_ != absl::InfiniteFuture()) {
      timeout_ms = static_cast<int>(
          std::clamp<int64_t>(absl::ToInt64Milliseconds(deadline_ - absl::Now()) + 1, 0, 60000));
    }
    pollfd exited{init_.pidfd(), POLLIN, 0};
    int n = poll(&exited, 1, timeout_ms);
    if (n < 0 && errno != EINTR) return ErrnoError("poll", "sandbox pidfd");
    if (n > 0) break;
    if (n == 0 && absl::Now() >= deadline_ && !wall_time_exceeded_) {
      wall_time_exceeded_ = true;
      KillAll();
    }
  }
  KURA_ASSIGN_OR_RETURN(ExitStatus init_status, init_.Wait());
  ReadReports(/*block_until_ready=*/false);
  result_ = BuildResult(init_status);
  monitor_.reset();
  // Every process of the sandbox is gone; removing the cgroup need not hold the caller up.
  DestroyCgroupLater(std::move(cgroup_));
  return *result_;
}

v1::SandboxResult Sandbox::BuildResult(const ExitStatus& init_status) {
  v1::SandboxResult result;
  result.set_wall_seconds(absl::ToDoubleSeconds(absl::Now() - start_));
  result.set_seccomp_denials(monitor_ != nullptr ? monitor_->total() : 0);
  result.set_peak_memory_bytes(cgroup_->PeakMemoryBytes());
  bool signaled = init_status.signaled;
  int code = init_status.code;
  int signal = init_status.signal;
  if (workload_status_.has_value()) {
    signaled = WIFSIGNALED(*workload_status_);
    code = signaled ? 0 : WEXITSTATUS(*workload_status_);
    signal = signaled ? WTERMSIG(*workload_status_) : 0;
  }
  if (signaled) {
    result.set_signal(signal);
  } else {
    result.set_exit_code(code);
  }
  if (!failed_step_.empty()) {
    result.set_reason(v1::SandboxResult::SETUP_FAILED);
    result.set_failed_step(failed_step_);
    result.set_setup_errno(setup_errno_);
  } else if (wall_time_exceeded_) {
    result.set_reason(v1::SandboxResult::WALL_TIME_EXCEEDED);
  } else if (kill_requested_) {
    result.set_reason(v1::SandboxResult::KILLED);
  } else if (cgroup_->OomKills() > 0 && (signaled || code != 0)) {
    result.set_reason(v1::SandboxResult::OOM_KILLED);
  } else {
    result.set_reason(signaled ? v1::SandboxResult::SIGNALED : v1::SandboxResult::EXITED);
  }
  return result;
}

}  // namespace kura::sandbox
