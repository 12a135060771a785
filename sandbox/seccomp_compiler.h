#pragma once

#include <linux/filter.h>

#include <vector>

#include "absl/status/statusor.h"
#include "sandbox/seccomp_profile.h"

namespace kura::sandbox {

// Compiles `profile` for x86-64 into a classic BPF program: kura's preamble followed by the
// program libseccomp builds from the profile's rules (binary-tree optimized). The preamble
//  - kills the process for a foreign architecture or an x32 syscall number;
//  - answers ENOSYS for numbers above profile.max_syscall and numbers no kernel assigned;
//  - sends ioctl TIOCSTI and TIOCLINUX to the listener (low 32 bits of the command compared,
//    as the kernel truncates it, so 0x1_00005412 is caught too).
// libseccomp's jumps are relative, so putting instructions before its program is safe.
// Costs 13–19 ms (libseccomp); the `analysis` profile is compiled once at build time.
// InvalidArgument names the rule for an unknown syscall or an argument check libseccomp refuses,
// and refuses a profile that does not allow sendmsg, close, execve and exit_group without
// conditions (what the sandbox's child calls after installing the filter, before the launcher
// serves the listener: refused there, it would hang).
absl::StatusOr<std::vector<sock_filter>> CompileSeccompProfile(const SeccompProfile& profile);

}  // namespace kura::sandbox
