// DenialMonitor: the launcher's side of the filter's user-notification listener.

#include <linux/seccomp.h>
#include <poll.h>
#include <seccomp.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "sandbox/seccomp.h"

namespace kura::sandbox {
namespace {

std::string SyscallName(uint32_t arch, int nr) {
  // libseccomp's architecture tokens are the kernel's AUDIT_ARCH values.
  char* name = seccomp_syscall_resolve_num_arch(arch, nr);
  std::string result = name != nullptr ? name : absl::StrCat("syscall_", nr);
  free(name);
  return result;
}

}  // namespace

DenialMonitor::DenialMonitor(UniqueFd listener) : listener_(std::move(listener)) {
  if (!listener_) return;
  stop_event_ = UniqueFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!stop_event_) {
    // Without the thread every refused syscall would block the sandbox forever.
    KURA_LOG(Fatal) << "eventfd: " << strerror(errno);
  }
  thread_ = std::thread([this] { Serve(); });
}

DenialMonitor::~DenialMonitor() {
  if (!thread_.joinable()) return;
  const uint64_t one = 1;
  if (write(stop_event_.get(), &one, sizeof one) != sizeof one) {
    KURA_LOG(Fatal) << "eventfd write: " << strerror(errno);
  }
  thread_.join();
}

std::vector<SeccompDenial> DenialMonitor::Denials() const {
  absl::MutexLock lock(&mu_);
  std::vector<SeccompDenial> denials;
  for (const auto& [nr, denial] : by_syscall_) denials.push_back(denial);
  return denials;
}

void DenialMonitor::Serve() {
  for (;;) {
    pollfd fds[2] = {{listener_.get(), POLLIN, 0}, {stop_event_.get(), POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      KURA_LOG(Error) << "seccomp listener poll: " << strerror(errno);
      break;
    }
    if (fds[1].revents != 0) return;
    if ((fds[0].revents & POLLIN) == 0) {
      // POLLHUP without POLLIN: every process the filter was attached to has exited.
      if (fds[0].revents != 0) return;
      continue;
    }
    if (!AnswerOne()) break;
  }
  // Unable to serve: closing the listener makes every pending and future refused call fail
  // with ENOSYS instead of blocking the sandbox forever.
  listener_.Reset();
}

bool DenialMonitor::AnswerOne() {
  seccomp_notif request;
  memset(&request, 0, sizeof request);  // the kernel refuses a request that is not zeroed
  if (ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_RECV, &request) < 0) {
    // ENOENT: the process was killed between poll and recv; EINTR: try again.
    if (errno == ENOENT || errno == EINTR) return true;
    KURA_LOG(Error) << "SECCOMP_IOCTL_NOTIF_RECV: " << strerror(errno);
    return false;
  }
  // Counted before the answer, so once the refused call has returned in the sandbox, the count
  // already includes it.
  Count(static_cast<int>(request.data.nr), request.data.arch, static_cast<pid_t>(request.pid));

  seccomp_notif_resp response;
  memset(&response, 0, sizeof response);
  response.id = request.id;
  response.error = -EPERM;
  // The refused call never runs: no SECCOMP_USER_NOTIF_FLAG_CONTINUE, ever.
  int rc;
  do {
    rc = ioctl(listener_.get(), SECCOMP_IOCTL_NOTIF_SEND, &response);
  } while (rc < 0 && errno == EINTR);
  // ENOENT: the process died or its call was interrupted by a signal; nothing to answer.
  if (rc < 0 && errno != ENOENT) {
    KURA_LOG(Error) << "SECCOMP_IOCTL_NOTIF_SEND: " << strerror(errno);
    return false;
  }
  return true;
}

void DenialMonitor::Count(int syscall_nr, uint32_t arch, pid_t pid) {
  {
    absl::MutexLock lock(&mu_);
    auto [it, inserted] = by_syscall_.try_emplace(syscall_nr);
    SeccompDenial& denial = it->second;
    if (inserted) {
      denial.syscall_nr = syscall_nr;
      denial.syscall_name = SyscallName(arch, syscall_nr);
    }
    ++denial.count;
    denial.last_pid = pid;
  }
  total_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace kura::sandbox
