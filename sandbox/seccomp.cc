#include "sandbox/seccomp.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "sandbox/seccomp_compiler.h"
#include "sandbox/seccomp_embedded.h"
#include "sandbox/seccomp_profile.h"

namespace kura::sandbox {
namespace {

// A profile lists a few hundred syscalls; anything much larger is not a profile.
constexpr size_t kMaxProfileBytes = 1 << 20;

}  // namespace

absl::StatusOr<std::shared_ptr<const SeccompProgram>> SeccompProgram::Analysis() {
  static const std::shared_ptr<const SeccompProgram> program =
      std::make_shared<const SeccompProgram>(
          std::vector<sock_filter>(internal::kAnalysisProgram,
                                   internal::kAnalysisProgram + internal::kAnalysisProgramSize),
          "analysis");
  return program;
}

absl::StatusOr<std::shared_ptr<const SeccompProgram>> SeccompProgram::FromFile(
    const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return ErrnoError("open", path);
  std::string text;
  char buf[16384];
  for (;;) {
    const ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("read", path);
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxProfileBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": seccomp profile larger than ", kMaxProfileBytes, " bytes"));
    }
  }
  absl::StatusOr<SeccompProfile> profile = ParseSeccompProfileJson(text);
  if (!profile.ok()) return Annotate(profile.status(), path);
  absl::StatusOr<std::vector<sock_filter>> program = CompileSeccompProfile(*profile);
  if (!program.ok()) return Annotate(program.status(), path);
  return std::make_shared<const SeccompProgram>(*std::move(program), profile->name);
}

absl::StatusOr<std::shared_ptr<const SeccompProgram>> SeccompProgram::ForProfile(
    absl::string_view name) {
  if (name == "analysis") return Analysis();
  if (name == "none") return std::shared_ptr<const SeccompProgram>();
  if (name.empty()) return absl::InvalidArgumentError("seccomp profile: empty name");
  return FromFile(std::string(name));
}

int SeccompProgram::InstallInChild() const noexcept {
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(instructions_.size());
  prog.filter = const_cast<sock_filter*>(instructions_.data());
  // The kernel opens the listener close-on-exec, so the workload never holds it after execve.
  const long fd =
      syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
  return fd < 0 ? -errno : static_cast<int>(fd);
}

}  // namespace kura::sandbox
