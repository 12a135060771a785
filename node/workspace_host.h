#pragma once

#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/unique_fd.h"
#include "kura/v1/node.pb.h"
#include "node/gpu.h"
#include "node/wire.h"
#include "node/workspace_layout.h"
#include "node/workspace_spec.h"

namespace kura::node {

// The workspaces of this node, as the agent sees them. It keeps no state of its own in memory:
// what a workspace is lives under the state directory and whether it runs is whether its
// supervisor answers on its socket, so an agent that restarts finds every workspace again.
// Opening starts the workspace's supervisor with posix_spawn (never fork: this runs on gRPC's
// threads). GPUs are handed out the same way: the indices a workspace was given are written to
// <state>/workspaces/<id>/gpus, and a GPU is taken while a workspace that lists it runs (or its
// sandbox lives), so a restarted agent knows which are free. With a disk cap
// (policy.disk_bytes), a workspace's outputs and its user's home are each a file system of that
// size (node/workspace_disk.h), mounted while a workspace that uses them may run and unmounted
// once none does. Thread-safe.
class WorkspaceHost final {
 public:
  struct Options {
    NodeDirs dirs;
    WorkspacePolicy policy;
    std::string node_id;
    std::string self_binary;  // kura-node itself, run as `kura-node supervise`
    NvidiaGpus gpus;          // what workspaces may be given (node/gpu.h); none by default
    // With policy.disk_bytes set but no loop devices here: serve with RLIMIT_FSIZE alone (and a
    // warning) instead of refusing to start.
    bool disk_cap_optional = false;
  };

  explicit WorkspaceHost(Options options) : options_(std::move(options)) {}

  // Creates the state and run directories and releases the disks of workspaces that no longer
  // run. With a disk cap, FailedPrecondition when this machine cannot enforce it (no loop
  // devices, no mkfs.ext4) unless disk_cap_optional. Call once before serving.
  absl::Status Prepare();

  // Whether workspaces get disk images (decided by Prepare).
  bool disk_images() const { return disk_images_; }

  // Opens workspace `request`: verifies each schema's manifest, creates its directories, starts
  // its supervisor and waits until its sandbox is ready. Opening a workspace that already runs
  // returns it. A request for N `kNvidiaGpuKind` devices gets N free GPUs (their nodes in the
  // sandbox, CUDA_VISIBLE_DEVICES in its environment). InvalidArgument for a bad request,
  // FailedPrecondition for a schema that changed, a sandbox that failed to start, or devices this
  // node does not have; ResourceExhausted when too few of its GPUs are free.
  absl::StatusOr<v1::Workspace> Open(const v1::NodeOpenWorkspaceRequest& request);

  // Closes a running workspace: its sandbox and every process in it are killed; its outputs and
  // the user's home stay (their disks are unmounted, their images kept). NotFound when it does
  // not run here.
  absl::Status Close(const std::string& id, const std::string& reason);

  // A running workspace, or NotFound.
  absl::StatusOr<v1::Workspace> Describe(const std::string& id);

  // Every running workspace.
  std::vector<v1::Workspace> List();

  // The indices of the GPUs held by workspaces that are running, starting, or closing with
  // their sandbox not yet dead.
  std::set<uint32_t> GpusInUse();

  // The sum of the running workspaces' resources.
  v1::Resources Allocated();

  // A connection to the supervisor of running workspace `id`. NotFound when it does not run.
  absl::StatusOr<UniqueFd> Connect(const std::string& id);

  // Sends `fields` to workspace `id`'s supervisor and returns the connection and its first reply;
  // an "error" reply becomes FailedPrecondition with its message.
  absl::StatusOr<std::pair<UniqueFd, Record>> Call(const std::string& id,
                                                   const std::vector<std::string>& fields);

  const NodeDirs& dirs() const { return options_.dirs; }
  const Options& options() const { return options_; }

 private:
  // The GPUs `request` asks for, chosen among the free ones. Call with open_mu_ held.
  absl::StatusOr<WorkspaceGpus> ChooseGpus(const v1::NodeOpenWorkspaceRequest& request);
  // Whether workspace `id`'s devices may still be in use: its supervisor answers, its sandbox's
  // init lives, or its supervisor is starting.
  bool HoldsItsDevices(const std::string& id);
  absl::Status CreateDirectories(const v1::NodeOpenWorkspaceRequest& request);
  // With disk images: mounts workspace `request`'s outputs, control directory and home disks.
  absl::Status MountDisks(const v1::NodeOpenWorkspaceRequest& request);
  // Unmounts the disks of every workspace that cannot run any more (closed, failed, its
  // supervisor gone), and the home disks no running workspace uses. Call with open_mu_ held.
  void ReleaseIdleDisks();
  absl::Status StartSupervisor(const std::string& id);
  absl::Status AwaitReady(const std::string& id);
  // Workspaces whose supervisor died (killed, OOM) without closing them: their sandbox is killed
  // and they are marked closed. Called by Prepare.
  void ReapOrphanedSandboxes();
  // Sets disk_images_ from the policy and what this machine can do. Called by Prepare.
  absl::Status ChooseDiskCap();
  // Whether the pid in `pid_file` is alive and is workspace `id`'s supervisor.
  bool IsOurProcess(const std::string& pid_file, const std::string& id) const;
  // The pid of the sandbox init recorded in `pid_file` ("<pid> <start time>") when that very
  // process is still alive; 0 otherwise.
  int OurSandboxInit(const std::string& pid_file) const;

  const Options options_;
  bool disk_images_ = false;  // set once by Prepare, before serving
  absl::Mutex open_mu_;  // one Open at a time: two opens of one id must not race
};

}  // namespace kura::node
