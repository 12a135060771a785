#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "kura/v1/node.pb.h"
#include "kura/v1/sandbox.pb.h"
#include "node/gpu.h"
#include "node/workspace_layout.h"

namespace kura::node {

// How this node builds its workspaces' sandboxes. A plain value.
struct WorkspacePolicy {
  std::string init_binary;            // host path of kura-workspace-init
  std::string python_dir;             // host directory holding the kura Python module; "": none
  uint64_t disk_bytes = 0;            // size of each home, outputs and tmpfs disk; 0: none
  uint64_t tmp_bytes = 512ull << 20;  // /tmp tmpfs
  uint32_t pids = 4096;
  uint32_t nofile = 4096;
};

// Verifies that the manifest of `schema` (schema.json in its host directory, not a symlink)
// hashes to the SHA-256 the gateway registered. FailedPrecondition when it differs (the schema
// changed since it was approved), NotFound when there is no manifest. Makes system calls.
absl::Status VerifySchemaManifest(const v1::MountSchema& schema);

// The sandbox of workspace `request` (already normalized): host rootfs; /data/<schema>
// read-only; /home/<user>, /outputs and the control directory writable; /tmp tmpfs; its limits;
// kura-workspace-init as the workload; the kura Python module's directory read-only at
// kPythonDirInside (on PYTHONPATH) when the policy names one; the device nodes of `gpus` (the
// GPUs chosen for it, none by default). Pure.
v1::SandboxSpec BuildWorkspaceSpec(const v1::NodeOpenWorkspaceRequest& request,
                                   const NodeDirs& dirs, const WorkspacePolicy& policy,
                                   const WorkspaceGpus& gpus = {});

// The environment every process of the workspace starts with; with GPUs, CUDA_VISIBLE_DEVICES.
std::vector<std::string> WorkspaceEnvironment(const v1::NodeOpenWorkspaceRequest& request,
                                              const WorkspaceGpus& gpus = {});

}  // namespace kura::node
