#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "kura/v1/sandbox.pb.h"

namespace kura::sandbox {

// One operation on the new root, prepared by the launcher and carried out by the sandbox's init
// between clone and pivot_root. Targets are relative to the new root ("usr", "dev/null").
struct MountOp {
  enum class Kind {
    kBind,     // clone the host tree at `source` (recursively) onto `target`
    kFs,       // a fresh file system of type `fs_type` with `fs_options`
    kSymlink,  // `target` -> `source`
    kFile,     // `target` created with `contents`
  };
  Kind kind = Kind::kBind;
  std::string source;
  std::string target;
  bool target_is_dir = true;
  // Create a missing mount point (and its parents). Off for targets inside a --rootfs, which is
  // read-only: its mount points must exist.
  bool create_target = true;
  uint64_t attributes = 0;  // MOUNT_ATTR_* set on the mount (and every submount of a bind)
  std::string fs_type;
  std::vector<std::pair<std::string, std::string>> fs_options;
  std::string contents;
};

// The whole mount tree of a sandbox, in the order it is built. Built by the launcher (allocates,
// validates untrusted paths, returns InvalidArgument naming the offending one); applied in the
// child by ApplyMountPlan, which only reads it. Not thread-safe; one owner.
struct MountPlan {
  // Empty: a fresh tmpfs root. Otherwise a host directory cloned read-only as the root; mount
  // targets must then already exist in it.
  std::string rootfs;
  std::vector<MountOp> ops;
  std::string root_tmpfs_size = "16m";
  // Scratch space of the child, one slot per op (sized by BuildMountPlan): every bind source is
  // cloned before the new root is attached, so that no source can be shadowed by it.
  mutable std::vector<int> cloned_trees;
};

// Builds the plan for `spec`: the root, /proc, the minimal /dev, --host-rootfs, the spec's mounts
// and devices, /sys if asked. `uid`/`gid` are the sandbox user's ids inside (for /etc/passwd).
// Every source must exist and must not be a symlink; targets must be absolute and must not
// contain "..".
absl::StatusOr<MountPlan> BuildMountPlan(const v1::SandboxSpec& spec, uint32_t uid, uint32_t gid);

// Child side, between clone and execve: builds the tree of `plan` on a fresh root, pivots into
// it, detaches the old root and makes the root read-only. Async-signal-safe, allocates nothing.
// On failure writes {step, errno, op index} to `report_sock` and _exits.
void ApplyMountPlan(const MountPlan& plan, int report_sock) noexcept;

// Resolves a sandbox path ("/a/b") into the plan's relative form ("a/b"). InvalidArgument if
// it is not absolute, is "/", or has "." or ".." components. Pure.
absl::StatusOr<std::string> SandboxRelativePath(const std::string& path);

}  // namespace kura::sandbox
