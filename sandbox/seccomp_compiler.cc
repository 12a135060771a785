#include "sandbox/seccomp_compiler.h"

#include <linux/audit.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace kura::sandbox {
namespace {

// x32 syscalls are x86-64 numbers with this bit set; a profile written for x86-64 must not let
// them through under other numbers.
constexpr uint32_t kX32SyscallBit = 0x40000000;

constexpr uint32_t kArchOffset = offsetof(seccomp_data, arch);
constexpr uint32_t kNrOffset = offsetof(seccomp_data, nr);
// Low word of args[1] on a little-endian machine.
constexpr uint32_t kArg1LowOffset = offsetof(seccomp_data, args) + sizeof(uint64_t);

struct ScmpFilterDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};
using ScmpFilter = std::unique_ptr<void, ScmpFilterDeleter>;

// Ranges of numbers in [0, max] that libseccomp names no syscall for (on x86-64, 335–423).
std::vector<std::pair<uint32_t, uint32_t>> UnassignedRanges(uint32_t max) {
  std::vector<std::pair<uint32_t, uint32_t>> ranges;
  for (uint32_t nr = 0; nr <= max; ++nr) {
    char* name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_X86_64, static_cast<int>(nr));
    const bool known = name != nullptr;
    free(name);
    if (known) continue;
    if (!ranges.empty() && ranges.back().second + 1 == nr) {
      ranges.back().second = nr;
    } else {
      ranges.emplace_back(nr, nr);
    }
  }
  return ranges;
}

// Lays out the preamble: straight-line checks whose jumps name where they go, followed by the
// three return instructions they jump to; the instruction after those is the first of
// libseccomp's program.
class PreambleAssembler {
 public:
  // Where a jump goes: kNext follows the offset written in the instruction itself.
  enum Target { kNext, kKill, kEnosys, kNotify, kBody };

  void Stmt(uint16_t op, uint32_t k) { code_.push_back({BPF_STMT(op, k), kNext, kNext}); }
  void Jump(uint16_t op, uint32_t k, Target jt, Target jf, uint8_t jt_skip = 0,
            uint8_t jf_skip = 0) {
    code_.push_back({BPF_JUMP(BPF_JMP | op | BPF_K, k, jt_skip, jf_skip), jt, jf});
  }

  std::vector<sock_filter> Finish() const {
    std::vector<sock_filter> out;
    for (size_t i = 0; i < code_.size(); ++i) {
      sock_filter insn = code_[i].insn;
      if (BPF_CLASS(insn.code) == BPF_JMP) {
        insn.jt = Offset(i, code_[i].jt, insn.jt);
        insn.jf = Offset(i, code_[i].jf, insn.jf);
      }
      out.push_back(insn);
    }
    out.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS));
    out.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)));
    out.push_back(BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF));
    return out;
  }

 private:
  struct Pending {
    sock_filter insn;
    Target jt, jf;
  };

  // The returns follow the checks in Target order, and the body follows the returns.
  uint8_t Offset(size_t from, Target to, uint8_t skip) const {
    if (to == kNext) return skip;
    return static_cast<uint8_t>(code_.size() + (to - kKill) - from - 1);
  }

  std::vector<Pending> code_;
};

std::vector<sock_filter> Preamble(uint32_t max_syscall) {
  using A = PreambleAssembler;
  A a;
  a.Stmt(BPF_LD | BPF_W | BPF_ABS, kArchOffset);
  a.Jump(BPF_JEQ, AUDIT_ARCH_X86_64, A::kNext, A::kKill);
  a.Stmt(BPF_LD | BPF_W | BPF_ABS, kNrOffset);
  // Above the table: -1 (what a skipped call reads as) and newer syscalls get ENOSYS, x32
  // numbers kill. Only one comparison on the path of an ordinary syscall.
  a.Jump(BPF_JGT, max_syscall, A::kNext, A::kNext, 0, 2);
  a.Jump(BPF_JEQ, 0xffffffff, A::kEnosys, A::kNext);
  a.Jump(BPF_JGE, kX32SyscallBit, A::kKill, A::kEnosys);
  for (const auto& [lo, hi] : UnassignedRanges(max_syscall)) {
    // lo <= nr <= hi: ENOSYS; nr < lo skips the second comparison.
    a.Jump(BPF_JGE, lo, A::kNext, A::kNext, 0, 1);
    a.Jump(BPF_JGT, hi, A::kNext, A::kEnosys);
  }
  // The kernel truncates an ioctl command to 32 bits: compare the low word of args[1] only.
  a.Jump(BPF_JEQ, SYS_ioctl, A::kNext, A::kBody);
  a.Stmt(BPF_LD | BPF_W | BPF_ABS, kArg1LowOffset);
  a.Jump(BPF_JEQ, TIOCSTI, A::kNotify, A::kNext);
  a.Jump(BPF_JEQ, TIOCLINUX, A::kNotify, A::kBody);
  return a.Finish();
}

// What the sandbox's child does between installing the filter and execve (sandbox/pid_init.cc):
// hand the listener to the launcher, close its copy, execve, and on failure report and exit. A
// refused call there would wait for a listener the launcher does not hold yet, and the sandbox
// would hang; so every profile must let these through unconditionally.
constexpr const char* kStartupSyscalls[] = {"sendmsg", "close", "execve", "exit_group"};

absl::Status CheckStartupSyscallsAllowed(const SeccompProfile& profile) {
  std::string missing;
  for (const char* name : kStartupSyscalls) {
    bool unconditional_allow = false, refused = false;
    for (const SeccompRule& rule : profile.rules) {
      if (std::find(rule.syscalls.begin(), rule.syscalls.end(), name) == rule.syscalls.end()) {
        continue;
      }
      if (rule.action != SeccompAction::kAllow) refused = true;
      if (rule.action == SeccompAction::kAllow && rule.args.empty()) unconditional_allow = true;
    }
    const bool allowed =
        !refused && (profile.default_action == SeccompAction::kAllow || unconditional_allow);
    if (!allowed) absl::StrAppend(&missing, missing.empty() ? "" : ", ", name);
  }
  if (missing.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "seccomp profile ", profile.name,
      ": a sandbox cannot start unless sendmsg, close, execve and exit_group are allowed "
      "without conditions (not allowed: ",
      missing, ")"));
}

uint32_t ScmpAction(SeccompAction action, int errno_value) {
  switch (action) {
    case SeccompAction::kAllow:
      return SCMP_ACT_ALLOW;
    case SeccompAction::kDeny:
      return SCMP_ACT_NOTIFY;
    case SeccompAction::kErrno:
      return SCMP_ACT_ERRNO(static_cast<uint16_t>(errno_value));
  }
  return SCMP_ACT_KILL_PROCESS;
}

scmp_arg_cmp ScmpCheck(const SeccompArgCheck& c) {
  using Op = SeccompArgCheck::Op;
  switch (c.op) {
    case Op::kEq:
      return {c.index, SCMP_CMP_EQ, c.value, 0};
    case Op::kNe:
      return {c.index, SCMP_CMP_NE, c.value, 0};
    case Op::kLt:
      return {c.index, SCMP_CMP_LT, c.value, 0};
    case Op::kLe:
      return {c.index, SCMP_CMP_LE, c.value, 0};
    case Op::kGt:
      return {c.index, SCMP_CMP_GT, c.value, 0};
    case Op::kGe:
      return {c.index, SCMP_CMP_GE, c.value, 0};
    case Op::kMaskedEq:
      return {c.index, SCMP_CMP_MASKED_EQ, c.mask, c.value};
  }
  return {};
}

absl::Status AddRule(scmp_filter_ctx ctx, const SeccompProfile& profile, const SeccompRule& rule,
                     size_t rule_index) {
  const std::string where =
      absl::StrCat("seccomp profile ", profile.name, ": rules[", rule_index, "]");
  if (rule.action == SeccompAction::kErrno && (rule.errno_value < 1 || rule.errno_value > 4095)) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": errno must be 1 to 4095"));
  }
  std::vector<scmp_arg_cmp> checks;
  for (const SeccompArgCheck& c : rule.args) checks.push_back(ScmpCheck(c));
  for (const std::string& name : rule.syscalls) {
    const int nr = seccomp_syscall_resolve_name_arch(SCMP_ARCH_X86_64, name.c_str());
    if (nr < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": unknown x86-64 syscall \"", name, "\""));
    }
    if (static_cast<uint32_t>(nr) > profile.max_syscall) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": syscall \"", name, "\" (", nr, ") is above max_syscall ", profile.max_syscall));
    }
    // A rule whose action is the default changes nothing (and libseccomp refuses it).
    if (rule.action == profile.default_action) continue;
    const int rc = seccomp_rule_add_array(ctx, ScmpAction(rule.action, rule.errno_value), nr,
                                          static_cast<unsigned>(checks.size()), checks.data());
    if (rc < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": libseccomp refused the rule for \"", name, "\": ", strerror(-rc)));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<sock_filter>> ExportBpf(scmp_filter_ctx ctx) {
  // libseccomp 2.5 exports only to a file descriptor.
  UniqueFd memfd(static_cast<int>(syscall(SYS_memfd_create, "kura-seccomp", MFD_CLOEXEC)));
  if (!memfd) return ErrnoError("memfd_create", "kura-seccomp");
  const int rc = seccomp_export_bpf(ctx, memfd.get());
  if (rc < 0) return ErrnoError("seccomp_export_bpf", "", -rc);
  const off_t size = lseek(memfd.get(), 0, SEEK_END);
  if (size < 0) return ErrnoError("lseek", "kura-seccomp");
  if (size == 0 || size % sizeof(sock_filter) != 0) {
    return absl::InternalError(absl::StrCat("seccomp_export_bpf wrote ", size, " bytes"));
  }
  std::vector<sock_filter> program(size / sizeof(sock_filter));
  const ssize_t n = pread(memfd.get(), program.data(), size, 0);
  if (n != size) return ErrnoError("pread", "kura-seccomp");
  return program;
}

}  // namespace

absl::StatusOr<std::vector<sock_filter>> CompileSeccompProfile(const SeccompProfile& profile) {
  if (profile.default_action == SeccompAction::kErrno) {
    return absl::InvalidArgumentError("seccomp profile: default action must be allow or deny");
  }
  ScmpFilter ctx(seccomp_init(ScmpAction(profile.default_action, 0)));
  if (!ctx) return absl::InternalError("seccomp_init failed");
  int rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
  if (rc == 0) rc = seccomp_attr_set(ctx.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);
  if (rc < 0) return ErrnoError("seccomp_attr_set", "", -rc);
  for (size_t i = 0; i < profile.rules.size(); ++i) {
    KURA_RETURN_IF_ERROR(AddRule(ctx.get(), profile, profile.rules[i], i));
  }
  KURA_RETURN_IF_ERROR(CheckStartupSyscallsAllowed(profile));
  KURA_ASSIGN_OR_RETURN(std::vector<sock_filter> body, ExportBpf(ctx.get()));

  std::vector<sock_filter> program = Preamble(profile.max_syscall);
  program.insert(program.end(), body.begin(), body.end());
  if (program.size() > BPF_MAXINSNS) {
    return absl::InvalidArgumentError(
        absl::StrCat("seccomp profile ", profile.name, ": ", program.size(),
                     " BPF instructions, more than the kernel's ", BPF_MAXINSNS));
  }
  return program;
}

}  // namespace kura::sandbox
