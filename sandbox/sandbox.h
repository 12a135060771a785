#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/child_process.h"
#include "common/unique_fd.h"
#include "kura/v1/sandbox.pb.h"
#include "sandbox/cgroup.h"
#include "sandbox/seccomp.h"

namespace kura::sandbox {

// Where the workload's stdin, stdout and stderr come from when the spec asks for no TTY. -1
// passes the launcher's own descriptor through. The launcher keeps its copies.
struct StdioFds {
  int in = -1;
  int out = -1;
  int err = -1;
};

// A running sandbox: its init (PID 1 of the sandbox's PID namespace, held by pidfd), its
// cgroup, its seccomp denial monitor and, with a TTY, the pty master. Destroying it kills
// everything in the sandbox and removes the cgroup. Move-only; not thread-safe (one owner calls
// Wait, Signal, Kill and Resize).
class Sandbox final {
 public:
  Sandbox(Sandbox&&) noexcept;
  Sandbox& operator=(Sandbox&&) noexcept;
  ~Sandbox();

  // Blocks until the sandbox ends (killing it when its wall time runs out) and says why. Call
  // once; later calls return the same result.
  absl::StatusOr<v1::SandboxResult> Wait();

  // Sends `sig` to the sandbox's init, which forwards it to the workload.
  absl::Status Signal(int sig);
  // Kills every process of the sandbox; Wait then reports KILLED.
  absl::Status Kill();

  // The pty master with --tty (read the workload's output, write its input), or -1.
  int terminal_fd() const { return pty_master_.get(); }
  // Changes the window size of the sandbox's terminal (the workload gets SIGWINCH).
  absl::Status Resize(uint32_t rows, uint32_t cols);

  // Readable (POLLIN) once the sandbox has ended; for callers that multiplex.
  int exit_fd() const { return init_.pidfd(); }
  // When the wall-time limit runs out (absl::InfiniteFuture() without one).
  absl::Time deadline() const { return deadline_; }
  // The init's pid as seen by the launcher.
  pid_t pid() const { return init_.pid(); }

 private:
  friend absl::StatusOr<Sandbox> Launch(const v1::SandboxSpec& spec, const StdioFds& stdio);
  Sandbox() = default;

  void ReadReports(bool block_until_ready);
  void KillAll();
  v1::SandboxResult BuildResult(const ExitStatus& init_status);

  ChildProcess init_;
  UniqueFd report_sock_;
  UniqueFd pty_master_;
  std::unique_ptr<SandboxCgroup> cgroup_;
  std::unique_ptr<DenialMonitor> monitor_;
  absl::Time start_;
  absl::Time deadline_ = absl::InfiniteFuture();
  bool ready_ = false;
  bool kill_requested_ = false;
  bool wall_time_exceeded_ = false;
  std::string failed_step_;  // set when a setup step failed
  int setup_errno_ = 0;
  int failure_detail_ = -1;             // index of the failed mount operation
  std::optional<int> workload_status_;  // wait status reported by init
  std::optional<v1::SandboxResult> result_;
};

// Starts `spec` in a new sandbox with full isolation (see docs/sandbox.md) and returns once the
// workload is about to execve, or its setup failed (Wait then reports SETUP_FAILED with the step
// and errno). Returns InvalidArgument for a bad spec (naming the field), and the launcher's own
// failures (cgroup, clone) as errors naming the call. Needs root (or CAP_SYS_ADMIN and friends)
// in the initial namespaces. Safe to call from a multi-threaded process. The sandbox's processes
// die with the thread that cloned its init (PR_SET_PDEATHSIG): with cgroup v2 the calling
// thread, so call it from a long-lived one; with v1 a thread the Sandbox owns.
absl::StatusOr<Sandbox> Launch(const v1::SandboxSpec& spec, const StdioFds& stdio = {});

}  // namespace kura::sandbox
