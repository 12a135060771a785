#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kura::sandbox {

// A seccomp profile as data: what kura's filter compiler turns into BPF. Pure values, no
// system calls; shared by the library (run-time JSON profiles, the equality test) and the
// build-time generator that embeds the `analysis` profile.

// One comparison of a syscall argument: `(arg[index] & mask) OP value` for kMaskedEq, or
// `arg[index] OP value` for the others. All 64 bits are compared.
struct SeccompArgCheck {
  enum class Op { kEq, kNe, kLt, kLe, kGt, kGe, kMaskedEq };
  unsigned index = 0;
  Op op = Op::kEq;
  uint64_t value = 0;
  uint64_t mask = 0;  // kMaskedEq only
};

// What the filter does with a syscall.
//  - kAllow: the syscall runs.
//  - kDeny: it fails with EPERM, answered and counted by the launcher's DenialMonitor.
//  - kErrno: it fails with `errno_value` at once, uncounted (clone3 gets ENOSYS).
enum class SeccompAction { kAllow, kDeny, kErrno };

// A rule: `action` for each of `syscalls` when all of `args` hold. Several rules for one syscall
// are alternatives (any that matches applies).
struct SeccompRule {
  SeccompAction action = SeccompAction::kAllow;
  int errno_value = 0;  // kErrno only
  std::vector<std::string> syscalls;
  std::vector<SeccompArgCheck> args;
};

// A whole profile. Syscalls above `max_syscall` (newer than the table the profile was written
// against) fail with ENOSYS, as do numbers the kernel never assigned, so that libc falls back
// to an older call instead of misreading EPERM. Explicit kDeny rules under a kDeny default are
// documentation: they are the default already, and tests attempt each of them.
struct SeccompProfile {
  std::string name;
  SeccompAction default_action = SeccompAction::kDeny;  // kDeny or kAllow
  uint32_t max_syscall = 0;
  std::vector<SeccompRule> rules;
};

// Every x86-64 syscall the `analysis` profile knows is at or below this number
// (futex_requeue, Linux 6.7).
inline constexpr uint32_t kAnalysisMaxSyscall = 456;

// The `analysis` profile: what researchers' code (Python, R, BLAS threads, CUDA user space)
// runs under. See docs/seccomp.md for the reasoning.
const SeccompProfile& AnalysisProfile();

// Parses a JSON profile (format in docs/seccomp.md). InvalidArgument names the offending field,
// e.g. "rules[2].args[0].op". Syscall names are checked when the profile is compiled.
absl::StatusOr<SeccompProfile> ParseSeccompProfileJson(absl::string_view json_text);

}  // namespace kura::sandbox
