// Child side of the mount tree: runs in the sandbox's init between clone and execve, so it only
// makes system calls on memory the launcher prepared, and reports the first failure.
//
// Every path is resolved relative to a directory fd with openat2(RESOLVE_NO_SYMLINKS), one
// component at a time, and every mount is attached with the fd-based mount API (open_tree,
// fsopen/fsmount, move_mount): a symlink planted in a bind source, a bind target or a rootfs can
// never redirect a mount to another place than the one the plan names.
#include "sandbox/mounts.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "sandbox/setup_report.h"

namespace kura::sandbox {
namespace {

// The mount point the new root is assembled on before pivot_root. Any directory of the host
// works; in the sandbox's private mount namespace the host's /tmp is only shadowed.
constexpr char kAssemblyPoint[] = "/tmp";

int OpenAt2(int dirfd, const char* path, uint64_t flags, uint64_t resolve) noexcept {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.resolve = resolve;
  return static_cast<int>(syscall(SYS_openat2, dirfd, path, &how, sizeof(how)));
}

// Closes an fd on scope exit without touching errno (the report needs the failing call's).
class ScopedFd {
 public:
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd() {
    if (fd_ >= 0) {
      int saved = errno;
      close(fd_);
      errno = saved;
    }
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

constexpr uint64_t kBeneathNoLinks = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;

// Opens (O_PATH) the directory `name` under `dirfd`, creating it when `create`.
int OpenOrMakeDir(int dirfd, const char* name, bool create) noexcept {
  int fd = OpenAt2(dirfd, name, O_PATH | O_DIRECTORY, kBeneathNoLinks);
  if (fd >= 0 || errno != ENOENT || !create) return fd;
  if (mkdirat(dirfd, name, 0755) != 0 && errno != EEXIST) return -1;
  return OpenAt2(dirfd, name, O_PATH | O_DIRECTORY, kBeneathNoLinks);
}

// Opens the parent directory of `rel` under `root`, creating missing directories when
// `create`, and points `*leaf` at the last component (inside `buf`). No symlink is followed.
int OpenParent(int root, const char* rel, bool create, char (&buf)[PATH_MAX],
               const char** leaf) noexcept {
  size_t len = strnlen(rel, PATH_MAX);
  if (len == 0 || len >= PATH_MAX) {
    errno = ENAMETOOLONG;
    return -1;
  }
  memcpy(buf, rel, len + 1);
  int dirfd = fcntl(root, F_DUPFD_CLOEXEC, 0);
  char* component = buf;
  for (char* slash; (slash = strchr(component, '/')) != nullptr; component = slash + 1) {
    *slash = '\0';
    int next = OpenOrMakeDir(dirfd, component, create);
    ScopedFd previous(dirfd);
    if (next < 0) return -1;
    dirfd = next;
  }
  *leaf = component;
  return dirfd;
}

// Opens the mount point `rel` under `root` (O_PATH), creating it (a directory or an empty file)
// when `create`.
int OpenTarget(int root, const char* rel, bool is_dir, bool create) noexcept {
  char buf[PATH_MAX];
  const char* leaf = nullptr;
  ScopedFd parent(OpenParent(root, rel, create, buf, &leaf));
  if (parent.get() < 0) return -1;
  if (is_dir) return OpenOrMakeDir(parent.get(), leaf, create);
  if (create) {
    int fd = openat(parent.get(), leaf, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd >= 0)
      close(fd);
    else if (errno != EEXIST)
      return -1;
  }
  return OpenAt2(parent.get(), leaf, O_PATH, kBeneathNoLinks);
}

bool MoveOnto(int mount_fd, int target_fd) noexcept {
  return move_mount(mount_fd, "", target_fd, "",
                    MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) == 0;
}

// A recursive clone of the host tree at `source` with `attributes` set on every mount of it.
int CloneTree(const char* source, uint64_t attributes) noexcept {
  ScopedFd source_fd(OpenAt2(AT_FDCWD, source, O_PATH, RESOLVE_NO_SYMLINKS));
  if (source_fd.get() < 0) return -1;
  int tree = open_tree(source_fd.get(), "",
                       OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
  if (tree < 0) return -1;
  mount_attr attr{};
  attr.attr_set = attributes;
  attr.propagation = MS_PRIVATE;
  if (mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) != 0) {
    ScopedFd closer(tree);
    return -1;
  }
  return tree;
}

// A new, detached file system of `op.fs_type` configured with `op.fs_options`.
int NewFilesystem(const MountOp& op) noexcept {
  ScopedFd fs(fsopen(op.fs_type.c_str(), FSOPEN_CLOEXEC));
  if (fs.get() < 0) return -1;
  for (const auto& [key, value] : op.fs_options) {
    int rc = value.empty() ? fsconfig(fs.get(), FSCONFIG_SET_FLAG, key.c_str(), nullptr, 0)
                           : fsconfig(fs.get(), FSCONFIG_SET_STRING, key.c_str(), value.c_str(), 0);
    if (rc != 0) return -1;
  }
  if (fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) return -1;
  return fsmount(fs.get(), FSMOUNT_CLOEXEC, static_cast<unsigned>(op.attributes));
}

bool ApplyBind(int root, const MountOp& op, int cloned_tree) noexcept {
  ScopedFd tree(cloned_tree);
  ScopedFd target(OpenTarget(root, op.target.c_str(), op.target_is_dir, op.create_target));
  return target.get() >= 0 && MoveOnto(tree.get(), target.get());
}

bool ApplyFs(int root, const MountOp& op) noexcept {
  ScopedFd mount(NewFilesystem(op));
  if (mount.get() < 0) return false;
  ScopedFd target(OpenTarget(root, op.target.c_str(), /*is_dir=*/true, op.create_target));
  return target.get() >= 0 && MoveOnto(mount.get(), target.get());
}

bool ApplySymlink(int root, const MountOp& op) noexcept {
  char buf[PATH_MAX];
  const char* leaf = nullptr;
  ScopedFd parent(OpenParent(root, op.target.c_str(), /*create=*/true, buf, &leaf));
  return parent.get() >= 0 && symlinkat(op.source.c_str(), parent.get(), leaf) == 0;
}

bool ApplyFile(int root, const MountOp& op) noexcept {
  char buf[PATH_MAX];
  const char* leaf = nullptr;
  ScopedFd parent(OpenParent(root, op.target.c_str(), /*create=*/true, buf, &leaf));
  if (parent.get() < 0) return false;
  ScopedFd file(
      openat(parent.get(), leaf, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (file.get() < 0) return false;
  const char* data = op.contents.data();
  size_t left = op.contents.size();
  while (left > 0) {
    ssize_t n = write(file.get(), data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    left -= static_cast<size_t>(n);
  }
  return true;
}

// Attaches the new root at kAssemblyPoint: a fresh tmpfs, or a read-only clone of the rootfs.
int AttachRoot(const MountPlan& plan) noexcept {
  int mount_fd;
  if (plan.rootfs.empty()) {
    ScopedFd fs(fsopen("tmpfs", FSOPEN_CLOEXEC));
    if (fs.get() < 0) return -1;
    if (fsconfig(fs.get(), FSCONFIG_SET_STRING, "mode", "0755", 0) != 0 ||
        fsconfig(fs.get(), FSCONFIG_SET_STRING, "size", plan.root_tmpfs_size.c_str(), 0) != 0 ||
        fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
      return -1;
    }
    mount_fd = fsmount(fs.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
  } else {
    mount_fd =
        CloneTree(plan.rootfs.c_str(), MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
  }
  if (mount_fd < 0) return -1;
  ScopedFd mount(mount_fd);
  if (move_mount(mount.get(), "", AT_FDCWD, kAssemblyPoint, MOVE_MOUNT_F_EMPTY_PATH) != 0) {
    return -1;
  }
  return OpenAt2(AT_FDCWD, kAssemblyPoint, O_PATH | O_DIRECTORY, RESOLVE_NO_SYMLINKS);
}

SetupStep StepOf(MountOp::Kind kind) {
  switch (kind) {
    case MountOp::Kind::kBind:
      return SetupStep::kMountBind;
    case MountOp::Kind::kFs:
      return SetupStep::kMountFs;
    case MountOp::Kind::kSymlink:
      return SetupStep::kMountSymlink;
    case MountOp::Kind::kFile:
      return SetupStep::kMountFile;
  }
  return SetupStep::kMountBind;
}

}  // namespace

void ApplyMountPlan(const MountPlan& plan, int report_sock) noexcept {
  // Nothing done below may propagate back to the host's mount namespace.
  if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    FailStep(report_sock, SetupStep::kMountPrivate);
  }
  // Sources first: once the new root is attached at kAssemblyPoint, host paths under it are
  // shadowed.
  for (size_t i = 0; i < plan.ops.size(); ++i) {
    const MountOp& op = plan.ops[i];
    if (op.kind != MountOp::Kind::kBind) continue;
    plan.cloned_trees[i] = CloneTree(op.source.c_str(), op.attributes);
    if (plan.cloned_trees[i] < 0) FailStep(report_sock, SetupStep::kMountBind, static_cast<int>(i));
  }
  int root = AttachRoot(plan);
  if (root < 0) FailStep(report_sock, SetupStep::kMountRoot);
  for (size_t i = 0; i < plan.ops.size(); ++i) {
    const MountOp& op = plan.ops[i];
    bool ok = false;
    switch (op.kind) {
      case MountOp::Kind::kBind:
        ok = ApplyBind(root, op, plan.cloned_trees[i]);
        break;
      case MountOp::Kind::kFs:
        ok = ApplyFs(root, op);
        break;
      case MountOp::Kind::kSymlink:
        ok = ApplySymlink(root, op);
        break;
      case MountOp::Kind::kFile:
        ok = ApplyFile(root, op);
        break;
    }
    if (!ok) FailStep(report_sock, StepOf(op.kind), static_cast<int>(i));
  }
  // pivot_root(".", ".") stacks the old root under the new one; detaching it leaves the
  // sandbox with no path back to the host's tree.
  if (fchdir(root) != 0 || syscall(SYS_pivot_root, ".", ".") != 0 ||
      umount2(".", MNT_DETACH) != 0 || chdir("/") != 0) {
    FailStep(report_sock, SetupStep::kPivotRoot);
  }
  close(root);
  mount_attr attr{};
  attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  if (mount_setattr(AT_FDCWD, "/", 0, &attr, sizeof(attr)) != 0) {
    FailStep(report_sock, SetupStep::kRemountRootRo);
  }
}

}  // namespace kura::sandbox
