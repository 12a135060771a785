#include "sandbox/user.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "sandbox/setup_report.h"

namespace kura::sandbox {
namespace {

absl::Status WriteProcFile(pid_t pid, const char* name, const std::string& contents) {
  std::string path = absl::StrCat("/proc/", pid, "/", name);
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return ErrnoError("open", path);
  if (write(fd.get(), contents.data(), contents.size()) != static_cast<ssize_t>(contents.size())) {
    return ErrnoError("write", path);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteIdMaps(pid_t pid, uint32_t uid, uint32_t gid) {
  if (uid == 0 || gid == 0 || uid > kMaxSandboxId || gid > kMaxSandboxId) {
    return absl::InvalidArgumentError(
        absl::StrCat("sandbox uid/gid must be in 1..", kMaxSandboxId, ", got ", uid, "/", gid));
  }
  KURA_RETURN_IF_ERROR(
      WriteProcFile(pid, "uid_map", absl::StrCat(uid, " ", kHostIdBase + uid, " 1\n")));
  return WriteProcFile(pid, "gid_map", absl::StrCat(gid, " ", kHostIdBase + gid, " 1\n"));
}

void AssumeSandboxIdentity(uint32_t uid, uint32_t gid, int sock) noexcept {
  // The process came into the namespace with every capability; the ids it had were unmapped,
  // so the setuid capability fix-up (which only fires when leaving uid 0) leaves them in place
  // for the mount and network setup that follows.
  // setgroups first: the launcher's supplementary groups (host root's, say) must not follow the
  // workload in. Once the capabilities are gone nothing in the sandbox can call it again.
  // Raw system calls: glibc's wrappers broadcast the change to every thread it believes the
  // process has, and this copy of the launcher has only the one that cloned it.
  if (syscall(SYS_setgroups, 0, nullptr) != 0 || syscall(SYS_setresgid, gid, gid, gid) != 0 ||
      syscall(SYS_setresuid, uid, uid, uid) != 0) {
    FailStep(sock, SetupStep::kIdentity);
  }
}

void DropPrivileges(int sock) noexcept {
  // Locked, so that nothing the workload executes can make uid 0 special again or keep
  // capabilities across a uid change or raise ambient ones.
  constexpr unsigned long kBits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                                  SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
                                  SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
  if (prctl(PR_SET_SECUREBITS, kBits, 0, 0, 0) != 0) FailStep(sock, SetupStep::kSecurebits);
  for (int cap = 0; cap <= 63; ++cap) {
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      if (errno == EINVAL) break;  // past the kernel's last capability
      FailStep(sock, SetupStep::kCapabilities);
    }
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
    FailStep(sock, SetupStep::kCapabilities);
  }
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (syscall(SYS_capset, &header, data) != 0) FailStep(sock, SetupStep::kCapabilities);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) FailStep(sock, SetupStep::kNoNewPrivs);
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) FailStep(sock, SetupStep::kDumpable);
}

}  // namespace kura::sandbox
