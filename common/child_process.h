#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace kura {

// How a process ended: its exit code, or the signal that killed it.
struct ExitStatus {
  bool signaled = false;
  int code = 0;    // valid when !signaled
  int signal = 0;  // valid when signaled

  // The shell convention: the exit code, or 128 + the signal number.
  int ShellCode() const { return signaled ? 128 + signal : code; }
  std::string ToString() const;
};

// Owns a child process through a pidfd: signals go to exactly this process even after its pid
// is reused, and a child that was never waited for is killed and reaped when its owner is
// destroyed, so no error path leaves a process behind. Move-only; not thread-safe.
class ChildProcess final {
 public:
  // What Spawn wires into the child. Descriptors given here are dup2'ed to 0, 1 and 2; -1 keeps
  // the parent's. Every other descriptor is closed in the child by O_CLOEXEC.
  struct Options {
    std::vector<std::string> env;  // empty: inherit the parent's environment
    int stdin_fd = -1;
    int stdout_fd = -1;
    int stderr_fd = -1;
    bool new_session = false;
  };

  ChildProcess() = default;
  ChildProcess(pid_t pid, UniqueFd pidfd) : pid_(pid), pidfd_(std::move(pidfd)) {}
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ~ChildProcess();

  // Starts argv[0] (searched in PATH) with `options`. Safe to call from a process without other
  // threads; between fork and exec the child only makes async-signal-safe calls.
  static absl::StatusOr<ChildProcess> Spawn(const std::vector<std::string>& argv,
                                            const Options& options);

  // Takes ownership of an already started child, opening a pidfd for it.
  static absl::StatusOr<ChildProcess> Adopt(pid_t pid);

  pid_t pid() const { return pid_; }
  int pidfd() const { return pidfd_.get(); }
  bool running() const { return pid_ > 0 && !reaped_; }

  // Sends `sig` through the pidfd. Returns FailedPrecondition once the child was reaped.
  absl::Status Signal(int sig);

  // Blocks until the child ends and reaps it.
  absl::StatusOr<ExitStatus> Wait();

  // Reaps the child if it has ended; nullopt while it runs.
  absl::StatusOr<std::optional<ExitStatus>> TryWait();

 private:
  absl::StatusOr<std::optional<ExitStatus>> WaitImpl(bool block);
  void KillAndReap();

  pid_t pid_ = -1;
  UniqueFd pidfd_;
  bool reaped_ = false;
};

// pidfd_open(2), which glibc 2.36 does not wrap.
absl::StatusOr<UniqueFd> PidfdOpen(pid_t pid);

}  // namespace kura
