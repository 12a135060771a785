#include "node/workspace_disk.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/child_process.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace kura::node {
namespace {

constexpr char kLoopControl[] = "/dev/loop-control";
// Another process may take the free loop device between LOOP_CTL_GET_FREE and LOOP_CONFIGURE.
constexpr int kAttachAttempts = 8;

std::string FindMkfs() {
  for (const char* path : {"/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4", "/usr/bin/mkfs.ext4"}) {
    if (::access(path, X_OK) == 0) return path;
  }
  return "";
}

// Whether `dir` holds anything at all (lost+found of an unmounted image included).
absl::StatusOr<bool> IsEmptyDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return ErrnoError("opendir", dir);
  bool empty = true;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) empty = false;
  }
  ::closedir(d);
  return empty;
}

// Creates `disk.image` sparse and formats it ext4 with its root owned by `disk.owner`. The
// image is written to a temporary name and renamed, so a half-made image is never mounted.
absl::Status CreateImage(const DiskImage& disk) {
  const std::string tmp = disk.image + ".new";
  ::unlink(tmp.c_str());
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd) return ErrnoError("open", tmp);
    if (::ftruncate(fd.get(), static_cast<off_t>(disk.size_bytes)) != 0) {
      return ErrnoError("ftruncate", tmp);
    }
  }
  const std::string mkfs = FindMkfs();
  if (mkfs.empty()) return absl::FailedPreconditionError("mkfs.ext4 is not installed");
  // With a journal, so a node that crashes leaves the researchers' files consistent; no blocks
  // reserved for root: the whole size is the workspace's. Inode tables and journal are written
  // now rather than lazily by the kernel afterwards.
  const std::vector<std::string> argv = {mkfs,
                                         "-q",
                                         "-F",
                                         "-m",
                                         "0",
                                         "-E",
                                         absl::StrCat("root_owner=", disk.owner, ":", disk.owner,
                                                      ",lazy_itable_init=0,lazy_journal_init=0"),
                                         tmp};
  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  ChildProcess::Options options;
  options.stdin_fd = null.get();
  options.stdout_fd = null.get();
  KURA_ASSIGN_OR_RETURN(ChildProcess child, ChildProcess::Spawn(argv, options));
  KURA_ASSIGN_OR_RETURN(ExitStatus status, child.Wait());
  if (status.signaled || status.code != 0) {
    ::unlink(tmp.c_str());
    return absl::InternalError(absl::StrCat(mkfs, " ", tmp, ": ", status.ToString()));
  }
  if (::rename(tmp.c_str(), disk.image.c_str()) != 0) return ErrnoError("rename", disk.image);
  return absl::OkStatus();
}

// The loop device already backed by the file `image` is (device and inode), or "" when none is.
std::string AttachedLoopDevice(const struct stat& image) {
  DIR* d = ::opendir("/sys/block");
  if (d == nullptr) return "";
  std::string found;
  while (dirent* e = ::readdir(d)) {
    if (!absl::StartsWith(e->d_name, "loop")) continue;
    std::string dev = absl::StrCat("/dev/", e->d_name);
    UniqueFd fd(::open(dev.c_str(), O_RDONLY | O_CLOEXEC));
    loop_info64 info{};
    if (!fd || ::ioctl(fd.get(), LOOP_GET_STATUS64, &info) != 0) continue;  // ENXIO: unbound
    if (info.lo_device == image.st_dev && info.lo_inode == image.st_ino) {
      found = dev;
      break;
    }
  }
  ::closedir(d);
  return found;
}

// Attaches `image_fd` to a free loop device with LO_FLAGS_AUTOCLEAR. The returned descriptor
// keeps the device attached until the file system is mounted from it.
absl::StatusOr<std::pair<UniqueFd, std::string>> AttachLoopDevice(int image_fd,
                                                                  const std::string& image) {
  UniqueFd control(::open(kLoopControl, O_RDWR | O_CLOEXEC));
  if (!control) return ErrnoError("open", kLoopControl);
  for (int attempt = 0; attempt < kAttachAttempts; ++attempt) {
    int n = ::ioctl(control.get(), LOOP_CTL_GET_FREE);
    if (n < 0) return ErrnoError("ioctl(LOOP_CTL_GET_FREE)", kLoopControl);
    std::string dev = absl::StrCat("/dev/loop", n);
    UniqueFd loop(::open(dev.c_str(), O_RDWR | O_CLOEXEC));
    if (!loop) return ErrnoError("open", dev);
    loop_config config{};
    config.fd = image_fd;
    config.info.lo_flags = LO_FLAGS_AUTOCLEAR;
    std::strncpy(reinterpret_cast<char*>(config.info.lo_file_name), image.c_str(),
                 LO_NAME_SIZE - 1);
    if (::ioctl(loop.get(), LOOP_CONFIGURE, &config) == 0) {
      return std::make_pair(std::move(loop), dev);
    }
    if (errno != EBUSY) return ErrnoError("ioctl(LOOP_CONFIGURE)", dev);
  }
  return absl::UnavailableError("no free loop device after several attempts");
}

absl::Status MountExt4(const std::string& dev, const std::string& dir) {
  // exec stays allowed: researchers run scripts and build code in their home, and noexec would
  // not stop an interpreter or ld.so anyway; the sandbox's seccomp profile is the control.
  if (::mount(dev.c_str(), dir.c_str(), "ext4", MS_NOSUID | MS_NODEV, nullptr) != 0) {
    return ErrnoError("mount", absl::StrCat(dev, " on ", dir));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ProbeDiskImages() {
  UniqueFd control(::open(kLoopControl, O_RDWR | O_CLOEXEC));
  if (!control) return ErrnoError("open", kLoopControl);
  if (::ioctl(control.get(), LOOP_CTL_GET_FREE) < 0) {
    return ErrnoError("ioctl(LOOP_CTL_GET_FREE)", kLoopControl);
  }
  if (FindMkfs().empty()) return absl::FailedPreconditionError("mkfs.ext4 is not installed");
  return absl::OkStatus();
}

absl::StatusOr<bool> IsMountPoint(const std::string& dir) {
  struct stat self, parent;
  if (::lstat(dir.c_str(), &self) != 0) return ErrnoError("lstat", dir);
  const std::string up = dir + "/..";
  if (::stat(up.c_str(), &parent) != 0) return ErrnoError("stat", up);
  return self.st_dev != parent.st_dev;
}

absl::Status MountDiskImage(const DiskImage& disk) {
  KURA_ASSIGN_OR_RETURN(bool mounted, IsMountPoint(disk.mount_point));
  if (mounted) return absl::OkStatus();
  KURA_ASSIGN_OR_RETURN(bool empty, IsEmptyDir(disk.mount_point));
  if (!empty) {
    return absl::FailedPreconditionError(
        absl::StrCat(disk.mount_point, " holds files outside its disk image ", disk.image,
                     "; move them into the image (docs/operations.md) before opening"));
  }
  const bool fresh = ::access(disk.image.c_str(), F_OK) != 0;
  if (fresh) KURA_RETURN_IF_ERROR(CreateImage(disk));
  UniqueFd image(::open(disk.image.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW));
  if (!image) return ErrnoError("open", disk.image);
  struct stat st;
  if (::fstat(image.get(), &st) != 0) return ErrnoError("fstat", disk.image);
  if (std::string dev = AttachedLoopDevice(st); !dev.empty()) {
    KURA_RETURN_IF_ERROR(MountExt4(dev, disk.mount_point));
  } else {
    KURA_ASSIGN_OR_RETURN(auto loop, AttachLoopDevice(image.get(), disk.image));
    // With LO_FLAGS_AUTOCLEAR, closing `loop.first` unmounted would detach the device: it stays
    // open until the mount holds the device.
    KURA_RETURN_IF_ERROR(MountExt4(loop.second, disk.mount_point));
  }
  if (fresh) {
    // lost+found would show among the workspace's outputs; e2fsck recreates it when needed.
    const std::string lost = disk.mount_point + "/lost+found";
    if (::rmdir(lost.c_str()) != 0 && errno != ENOENT) return ErrnoError("rmdir", lost);
    if (::chmod(disk.mount_point.c_str(), disk.root_mode) != 0) {
      return ErrnoError("chmod", disk.mount_point);
    }
  }
  if (::lchown(disk.mount_point.c_str(), disk.owner, disk.owner) != 0) {
    return ErrnoError("lchown", disk.mount_point);
  }
  return absl::OkStatus();
}

absl::Status UnmountDisk(const std::string& mount_point) {
  auto mounted = IsMountPoint(mount_point);
  if (!mounted.ok())
    return absl::IsNotFound(mounted.status()) ? absl::OkStatus() : mounted.status();
  if (!*mounted) return absl::OkStatus();
  if (::umount2(mount_point.c_str(), UMOUNT_NOFOLLOW) == 0) return absl::OkStatus();
  if (errno != EBUSY) return ErrnoError("umount2", mount_point);
  // A process of the host still has a file open there (an upload in flight): detach the mount
  // now; the file system, and with it the loop device, go when that file is closed.
  if (::umount2(mount_point.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0) {
    return ErrnoError("umount2(MNT_DETACH)", mount_point);
  }
  return absl::OkStatus();
}

absl::Status MountSmallTmpfs(const std::string& dir, uint64_t size_bytes, uint32_t owner) {
  KURA_ASSIGN_OR_RETURN(bool mounted, IsMountPoint(dir));
  if (mounted) return absl::OkStatus();
  std::string data =
      absl::StrCat("size=", size_bytes, ",nr_inodes=64,mode=0700,uid=", owner, ",gid=", owner);
  if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, data.c_str()) != 0) {
    return ErrnoError("mount(tmpfs)", dir);
  }
  return absl::OkStatus();
}

}  // namespace kura::node
