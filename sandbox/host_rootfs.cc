#include "sandbox/host_rootfs.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace kura::sandbox {
namespace {

constexpr uint64_t kReadOnly = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;

// Adds host `path` (absolute) at the same place: a read-only bind, or the same symlink when the
// host has a symlink there (merged /usr: /bin -> usr/bin). A missing path is skipped.
absl::Status AddHostEntry(const std::string& path, MountPlan* plan) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoError("lstat", path);
  }
  MountOp op;
  op.target = path.substr(1);
  if (S_ISLNK(st.st_mode)) {
    char link[PATH_MAX];
    ssize_t n = readlink(path.c_str(), link, sizeof(link) - 1);
    if (n < 0) return ErrnoError("readlink", path);
    op.kind = MountOp::Kind::kSymlink;
    op.source.assign(link, static_cast<size_t>(n));
  } else if (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode)) {
    op.kind = MountOp::Kind::kBind;
    op.source = path;
    op.target_is_dir = S_ISDIR(st.st_mode);
    op.attributes = kReadOnly;
  } else {
    return absl::OkStatus();
  }
  plan->ops.push_back(std::move(op));
  return absl::OkStatus();
}

void AddFile(const std::string& target, std::string contents, MountPlan* plan) {
  MountOp op;
  op.kind = MountOp::Kind::kFile;
  op.target = target;
  op.contents = std::move(contents);
  plan->ops.push_back(std::move(op));
}

}  // namespace

const std::vector<std::string>& HostRootfsEtcEntries() {
  static const auto* const kEntries = new std::vector<std::string>{
      "ld.so.cache",  "ld.so.conf", "ld.so.conf.d",    "localtime",
      "timezone",     "ssl/certs",  "ssl/openssl.cnf", "ca-certificates.conf",
      "alternatives", "os-release", "debian_version",  "mime.types",
      "protocols",    "services",   "gai.conf",        "python3",
      "python3.11",   "R",          "matplotlibrc",    "fonts",
  };
  return *kEntries;
}

absl::Status AddHostRootfs(uint32_t uid, uint32_t gid, const std::string& hostname,
                           MountPlan* plan) {
  for (const char* dir : {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    KURA_RETURN_IF_ERROR(AddHostEntry(dir, plan));
  }
  for (const std::string& entry : HostRootfsEtcEntries()) {
    KURA_RETURN_IF_ERROR(AddHostEntry(absl::StrCat("/etc/", entry), plan));
  }
  AddFile("etc/passwd",
          absl::StrCat("root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n", "sandbox:x:", uid, ":",
                       gid, ":kura sandbox:/nonexistent:/bin/sh\n",
                       "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"),
          plan);
  AddFile("etc/group", absl::StrCat("root:x:0:\n", "sandbox:x:", gid, ":\n", "nogroup:x:65534:\n"),
          plan);
  AddFile("etc/hosts", absl::StrCat("127.0.0.1\tlocalhost ", hostname, "\n::1\tlocalhost\n"), plan);
  AddFile("etc/hostname", absl::StrCat(hostname, "\n"), plan);
  AddFile("etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files\n", plan);
  return absl::OkStatus();
}

}  // namespace kura::sandbox
