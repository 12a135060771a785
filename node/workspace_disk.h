#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kura::node {

// A writable place of a workspace (its outputs, a user's home) made into a file system of its
// own with a hard size: an ext4 image file on the node's state file system, attached to a loop
// device and mounted over the directory the sandbox binds. Whatever the workspace writes there
// fills the image, never the node's disk beyond it. Run by the agent as root in the host's
// namespaces. A plain value.
struct DiskImage {
  std::string image;        // the image file (created sparse, 0600 root)
  std::string mount_point;  // the directory it is mounted over
  uint64_t size_bytes = 0;  // the size of a new image; an existing one keeps its own
  uint32_t owner = 0;       // host uid and gid of the file system's root directory
  unsigned root_mode = 0700;
};

// OK when this machine can cap workspaces with disk images: /dev/loop-control answers
// LOOP_CTL_GET_FREE and mkfs.ext4 is installed. FailedPrecondition naming what is missing
// otherwise (a container without loop devices, no e2fsprogs).
absl::Status ProbeDiskImages();

// Whether `dir` is the root of a mount: its device differs from its parent's.
absl::StatusOr<bool> IsMountPoint(const std::string& dir);

// Mounts `disk.image` over `disk.mount_point` (nosuid, nodev), creating and formatting the image
// first when it does not exist. A mount point that is already mounted is left as it is. An image
// still attached to a loop device (a closing sandbox's namespace may hold its file system) is
// mounted from that device, never attached twice: two ext4 mounts of one image would corrupt it.
// The root of the file system is made `owner`'s with `root_mode` when the image is new and
// chowned to `owner` on every mount. FailedPrecondition when the mount point holds files outside
// the image (mounting would hide them); the error of the failing call otherwise.
absl::Status MountDiskImage(const DiskImage& disk);

// Unmounts `mount_point` when it is a mount (lazily when it is busy); the loop device frees
// itself once nothing holds the file system (LO_FLAGS_AUTOCLEAR). OK when it is not mounted.
absl::Status UnmountDisk(const std::string& mount_point);

// Mounts a small tmpfs (`size_bytes`, 64 inodes) owned by `owner`, mode 0700, over `dir` unless
// it is already a mount: the workspace's control directory, which holds only init's socket.
absl::Status MountSmallTmpfs(const std::string& dir, uint64_t size_bytes, uint32_t owner);

}  // namespace kura::node
