#pragma once

// The workspace image: the identity of the software a workspace runs in. Workspaces run on the
// node's own root filesystem (the sandbox's host rootfs), so the image is what a sandbox sees of
// it: the distribution, its installed packages, and the kura parts bound into every sandbox.
// Every snapshot carries it, and a release manifest records it.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kura/v1/common.pb.h"

namespace kura::node {

// The kura software of every workspace, outside the root filesystem. A plain value.
struct KuraSoftware {
  std::string init_binary;   // kura-workspace-init (WorkspacePolicy::init_binary); "": none
  std::string python_dir;    // the kura Python module's directory (WorkspacePolicy::python_dir)
  std::string node_version;  // kura-node's version; "": none
};

// An image from its parts: `components` ("name sha256hex" each) sorted, and the digest
// "sha256:" + SHA-256 over them joined with "\n". Pure.
v1::WorkspaceImage MakeWorkspaceImage(std::string name, std::vector<std::string> components);

// The image of workspaces running on the root filesystem at `root` ("/" on a node; a test's
// tree otherwise) with `kura`'s software. Name "host:" + PRETTY_NAME of <root>/etc/os-release
// (else <root>/usr/lib/os-release), "host" when neither has one. Components, each present one
// hashed with SHA-256:
//   os-release            the os-release file's bytes
//   dpkg-status           <root>/var/lib/dpkg/status: the installed packages and their versions
//   kura-workspace-init   the init binary's bytes
//   kura-python           "relpath sha256\n" of each regular file under python_dir, by path
//                         (bytecode caches left out)
//   kura-node             the version string
// An absent os-release or dpkg status is left out, as is a kura part that is not set; a file
// that is set or present but cannot be read is an error (NotFound, PermissionDenied naming
// it), so an image never silently loses a part. Makes system calls; thread-safe.
absl::StatusOr<v1::WorkspaceImage> HostWorkspaceImage(const std::string& root,
                                                      const KuraSoftware& kura);

}  // namespace kura::node
