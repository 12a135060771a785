#pragma once

#include <linux/filter.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "common/unique_fd.h"

namespace kura::sandbox {

// A seccomp filter compiled to a classic BPF program, ready to install. Immutable once built and
// safe to share between threads. Building the `analysis` profile with libseccomp costs 13–19 ms,
// so it is compiled once (at build time, embedded in the binary) and reused for every sandbox.
//
// The filter answers the syscalls it refuses in three ways:
//  - syscalls the profile explicitly denies, and known syscalls it does not allow, go to the
//    launcher as seccomp user notifications: the launcher's DenialMonitor counts them and
//    answers EPERM (so every refusal is an audit-able event);
//  - syscalls the profile does not know (numbers newer than its table) and clone3 (whose flags a
//    filter cannot read) fail with ENOSYS, so libc falls back to an older, filterable call;
//  - a foreign architecture or the x32 ABI kills the process.
class SeccompProgram final {
 public:
  // The `analysis` profile; built once per process on first use. Thread-safe.
  static absl::StatusOr<std::shared_ptr<const SeccompProgram>> Analysis();

  // Loads a profile from a JSON file (see docs/seccomp.md). InvalidArgument names the field.
  static absl::StatusOr<std::shared_ptr<const SeccompProgram>> FromFile(const std::string& path);

  // "analysis", "none" (returns nullptr: no filter) or a path to a JSON profile.
  static absl::StatusOr<std::shared_ptr<const SeccompProgram>> ForProfile(absl::string_view name);

  explicit SeccompProgram(std::vector<sock_filter> instructions, std::string name)
      : instructions_(std::move(instructions)), name_(std::move(name)) {}

  const std::string& name() const { return name_; }
  const std::vector<sock_filter>& instructions() const { return instructions_; }

  // Installs the filter on the calling thread with a user-notification listener. For the child
  // between clone and execve: async-signal-safe, allocates nothing. no_new_privs must already be
  // set. Returns the listener fd (close-on-exec), or -errno.
  int InstallInChild() const noexcept;

 private:
  std::vector<sock_filter> instructions_;
  std::string name_;
};

// One kind of refused syscall and how often it was tried.
struct SeccompDenial {
  int syscall_nr = 0;
  std::string syscall_name;  // "mount", or "syscall_NNN" when unknown
  uint64_t count = 0;
  pid_t last_pid = 0;  // as seen from the launcher's PID namespace
};

// Serves the filter's user-notification listener: answers every notification with EPERM and
// counts it. Owns the listener fd and one thread; the thread ends when the listener closes
// (every process of the sandbox is gone) or the monitor is destroyed. Thread-safe.
class DenialMonitor final {
 public:
  explicit DenialMonitor(UniqueFd listener);
  DenialMonitor(const DenialMonitor&) = delete;
  DenialMonitor& operator=(const DenialMonitor&) = delete;
  ~DenialMonitor();

  uint64_t total() const { return total_.load(std::memory_order_relaxed); }
  std::vector<SeccompDenial> Denials() const;

 private:
  void Serve();
  // Receives one notification, counts it and answers EPERM. False when the listener broke.
  bool AnswerOne();
  void Count(int syscall_nr, uint32_t arch, pid_t pid);

  UniqueFd listener_;
  UniqueFd stop_event_;  // eventfd that wakes the thread for shutdown
  std::atomic<uint64_t> total_{0};
  mutable absl::Mutex mu_;
  std::map<int, SeccompDenial> by_syscall_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace kura::sandbox
