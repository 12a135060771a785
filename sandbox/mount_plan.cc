// Launcher side of the mount tree: turns a SandboxSpec into a MountPlan, validating every
// untrusted path before anything is cloned.
#include <sys/mount.h>
#include <sys/stat.h>

#include <climits>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status.h"
#include "sandbox/host_rootfs.h"
#include "sandbox/mounts.h"

namespace kura::sandbox {
namespace {

constexpr uint64_t kReadOnly = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
constexpr uint64_t kWritable = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
constexpr uint64_t kDeviceNode = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC;
constexpr uint64_t kNoExec = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
constexpr uint64_t kDefaultShmBytes = 64ull << 20;

// Checks a host path given for a bind: absolute, existing, and free of symlinks in every
// component (the child resolves it with RESOLVE_NO_SYMLINKS; this gives the clear error first).
absl::StatusOr<struct stat> CheckHostSource(const std::string& path) {
  if (path.empty() || path[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat("bind source must be absolute: ", path));
  }
  char resolved[PATH_MAX];
  if (realpath(path.c_str(), resolved) == nullptr) return ErrnoError("realpath", path);
  if (path != resolved &&
      !(path.size() > 1 && path.back() == '/' && path.substr(0, path.size() - 1) == resolved)) {
    return absl::InvalidArgumentError(absl::StrCat("bind source goes through a symlink: ", path,
                                                   " (resolves to ", resolved,
                                                   "); give the resolved path"));
  }
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return ErrnoError("stat", path);
  return st;
}

MountOp NewFs(std::string type, std::string target, uint64_t attributes,
              std::vector<std::pair<std::string, std::string>> options) {
  MountOp op;
  op.kind = MountOp::Kind::kFs;
  op.fs_type = std::move(type);
  op.target = std::move(target);
  op.attributes = attributes;
  op.fs_options = std::move(options);
  return op;
}

MountOp NewSymlink(std::string target, std::string points_to) {
  MountOp op;
  op.kind = MountOp::Kind::kSymlink;
  op.target = std::move(target);
  op.source = std::move(points_to);
  return op;
}

// /dev: the harmless character devices bound from the host, a private devpts instance and
// /dev/shm. Nothing else of the host's /dev is visible.
void AddMinimalDev(const MountPlan& plan, uint64_t shm_bytes, MountPlan* out) {
  if (!plan.rootfs.empty()) {
    out->ops.push_back(NewFs("tmpfs", "dev", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC,
                             {{"mode", "0755"}, {"size", "65536"}}));
    out->ops.back().create_target = false;
  }
  for (const char* node : {"null", "zero", "full", "random", "urandom", "tty"}) {
    MountOp op;
    op.kind = MountOp::Kind::kBind;
    op.source = absl::StrCat("/dev/", node);
    op.target = absl::StrCat("dev/", node);
    op.target_is_dir = false;
    op.attributes = kDeviceNode;
    out->ops.push_back(std::move(op));
  }
  out->ops.push_back(NewFs("devpts", "dev/pts", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC,
                           {{"newinstance", ""}, {"ptmxmode", "0666"}, {"mode", "0620"}}));
  out->ops.push_back(NewSymlink("dev/ptmx", "pts/ptmx"));
  out->ops.push_back(NewSymlink("dev/fd", "/proc/self/fd"));
  out->ops.push_back(NewSymlink("dev/stdin", "/proc/self/fd/0"));
  out->ops.push_back(NewSymlink("dev/stdout", "/proc/self/fd/1"));
  out->ops.push_back(NewSymlink("dev/stderr", "/proc/self/fd/2"));
  out->ops.push_back(
      NewFs("tmpfs", "dev/shm", kNoExec, {{"mode", "1777"}, {"size", absl::StrCat(shm_bytes)}}));
}

absl::Status AddDevice(const std::string& path, MountPlan* plan) {
  KURA_ASSIGN_OR_RETURN(struct stat st, CheckHostSource(path));
  if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat("not a device node: ", path));
  }
  KURA_ASSIGN_OR_RETURN(std::string target, SandboxRelativePath(path));
  MountOp op;
  op.kind = MountOp::Kind::kBind;
  op.source = path;
  op.target = std::move(target);
  op.target_is_dir = false;
  op.attributes = kDeviceNode;
  plan->ops.push_back(std::move(op));
  return absl::OkStatus();
}

absl::Status AddSpecMount(const v1::Mount& mount, uint64_t disk_bytes, MountPlan* plan) {
  KURA_ASSIGN_OR_RETURN(std::string target, SandboxRelativePath(mount.target()));
  switch (mount.kind()) {
    case v1::Mount::BIND: {
      KURA_ASSIGN_OR_RETURN(struct stat st, CheckHostSource(mount.source()));
      // A cap asked for this very mount that kura cannot enforce is refused rather than
      // ignored: a host directory has no per-sandbox size limit. Limits.disk_bytes applies to
      // tmpfs mounts only (docs/sandbox.md, "--disk").
      if (!mount.read_only() && mount.size_bytes() > 0) {
        return absl::UnimplementedError(absl::StrCat(
            "cannot cap the writable bind of ", mount.target(),
            ": size caps apply to tmpfs mounts only; cap the host directory's file system "
            "instead (see docs/sandbox.md)"));
      }
      MountOp op;
      op.kind = MountOp::Kind::kBind;
      op.source = mount.source();
      op.target = std::move(target);
      op.target_is_dir = S_ISDIR(st.st_mode);
      op.attributes = mount.read_only() ? kReadOnly : kWritable;
      plan->ops.push_back(std::move(op));
      return absl::OkStatus();
    }
    case v1::Mount::TMPFS: {
      uint64_t size = mount.size_bytes() > 0 ? mount.size_bytes() : disk_bytes;
      std::vector<std::pair<std::string, std::string>> options = {{"mode", "1777"}};
      if (size > 0) options.emplace_back("size", absl::StrCat(size));
      plan->ops.push_back(NewFs("tmpfs", std::move(target),
                                mount.read_only() ? kReadOnly : kWritable, std::move(options)));
      return absl::OkStatus();
    }
    case v1::Mount::SYMLINK:
      if (mount.source().empty()) {
        return absl::InvalidArgumentError(absl::StrCat("symlink without a target: ", target));
      }
      plan->ops.push_back(NewSymlink(std::move(target), mount.source()));
      return absl::OkStatus();
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("mount of ", mount.target(), " has no kind (bind, tmpfs or symlink)"));
  }
}

}  // namespace

absl::StatusOr<std::string> SandboxRelativePath(const std::string& path) {
  if (path.size() < 2 || path[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("sandbox path must be absolute and not \"/\": \"", path, "\""));
  }
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(path.substr(1), '/', absl::SkipEmpty())) {
    if (part == "." || part == "..") {
      return absl::InvalidArgumentError(absl::StrCat("sandbox path has . or ..: ", path));
    }
    parts.emplace_back(part);
  }
  if (parts.empty()) return absl::InvalidArgumentError("sandbox path \"/\" cannot be a target");
  return absl::StrJoin(parts, "/");
}

absl::StatusOr<MountPlan> BuildMountPlan(const v1::SandboxSpec& spec, uint32_t uid, uint32_t gid) {
  MountPlan plan;
  if (spec.root_case() == v1::SandboxSpec::kRootfs) {
    KURA_ASSIGN_OR_RETURN(struct stat st, CheckHostSource(spec.rootfs()));
    if (!S_ISDIR(st.st_mode)) {
      return absl::InvalidArgumentError(absl::StrCat("rootfs is not a directory: ", spec.rootfs()));
    }
    plan.rootfs = spec.rootfs();
  } else if (spec.host_rootfs()) {
    KURA_RETURN_IF_ERROR(AddHostRootfs(uid, gid, spec.hostname(), &plan));
  }
  plan.ops.push_back(NewFs("proc", "proc", kNoExec, {}));
  const uint64_t disk = spec.limits().disk_bytes();
  AddMinimalDev(plan, disk > 0 ? disk : kDefaultShmBytes, &plan);
  for (const std::string& device : spec.devices()) {
    KURA_RETURN_IF_ERROR(AddDevice(device, &plan));
  }
  for (const v1::Mount& mount : spec.mounts()) {
    KURA_RETURN_IF_ERROR(AddSpecMount(mount, disk, &plan));
  }
  if (spec.mount_sys()) {
    plan.ops.push_back(NewFs("sysfs", "sys", kNoExec | MOUNT_ATTR_RDONLY, {}));
  }
  if (!plan.rootfs.empty()) {
    // A rootfs is read-only: only what lands on the fresh /dev tmpfs may be created.
    for (MountOp& op : plan.ops) {
      if (op.target.rfind("dev/", 0) != 0) op.create_target = false;
    }
  }
  plan.cloned_trees.assign(plan.ops.size(), -1);
  return plan;
}

}  // namespace kura::sandbox
