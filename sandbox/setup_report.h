#pragma once

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace kura::sandbox {

// The steps of sandbox setup, in the order they run. Between clone and execve the sandbox's
// processes cannot return errors or log: the first step that fails is written to the launcher as
// a SetupReport and the process _exits. The names appear in SandboxResult.failed_step.
enum class SetupStep : int32_t {
  kNone = 0,
  kAwaitLauncher,    // read the launcher's go-ahead (the id maps and cgroup are in place)
  kDeathSignal,      // prctl(PR_SET_PDEATHSIG)
  kCloseFds,         // close_range: nothing of the launcher reaches the sandbox
  kSignals,          // reset dispositions and mask
  kCgroupNamespace,  // unshare(CLONE_NEWCGROUP)
  kIdentity,         // setresgid/setresuid to the sandbox user
  kMountPrivate,     // mount propagation private
  kMountRoot,        // fresh tmpfs for the new root
  kMountBind,        // a --bind / --ro-bind / host-rootfs / device bind
  kMountFs,          // tmpfs, proc, devpts, sysfs, mqueue
  kMountSymlink,     // symlinks of the new root (host-rootfs /bin, /dev/fd, ...)
  kMountFile,        // synthesized files (/etc/passwd, /etc/group)
  kPivotRoot,        // pivot_root and detach the old root
  kRemountRootRo,    // the root read-only
  kHostname,         // sethostname
  kLoopback,         // bring up lo
  kRlimits,          // setrlimit NOFILE, CORE, FSIZE
  kSecurebits,       // prctl(PR_SET_SECUREBITS)
  kCapabilities,     // bounding, ambient, then capset to nothing
  kNoNewPrivs,       // prctl(PR_SET_NO_NEW_PRIVS)
  kDumpable,         // prctl(PR_SET_DUMPABLE, 0)
  kChdir,            // chdir to the working directory
  kForkWorkload,     // init forks the workload
  kTerminal,         // setsid, TIOCSCTTY, dup2 of the pty
  kSeccomp,          // install the filter
  kSendListener,     // pass the seccomp listener to the launcher
  kExecve,           // execve of the command
  // Not failures: protocol messages.
  kReady = 100,          // the workload is about to execve (carries the listener, if any)
  kWorkloadEnded = 101,  // init: the workload ended; `status` is its wait status
};

// Name of a step for reports and error messages ("mount_bind").
const char* SetupStepName(SetupStep step);

// One record on the setup socket (SOCK_SEQPACKET, one record per message).
struct SetupReport {
  SetupStep step = SetupStep::kNone;
  int32_t error = 0;   // errno of the failed call
  int32_t status = 0;  // wait status, for kWorkloadEnded
  int32_t detail = 0;  // index of the failed mount, for mount steps; -1 otherwise
};

// For the sandbox's processes between clone and execve: async-signal-safe, no allocation.
// Sends one report, with `fd` attached by SCM_RIGHTS when it is >= 0. Returns false on failure.
bool SendSetupReport(int sock, const SetupReport& report, int fd = -1) noexcept;

// Reports that `step` failed with the current errno and _exits with kSetupFailedExitCode.
[[noreturn]] void FailStep(int sock, SetupStep step, int detail = -1) noexcept;

// Exit code of a sandbox process whose setup failed (the report carries the details).
inline constexpr int kSetupFailedExitCode = 127;

}  // namespace kura::sandbox
