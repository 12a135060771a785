#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kura/v1/node.pb.h"

namespace kura::node {

// Where a node keeps what it knows, all of it on disk so that the agent can restart at any time:
//   <state>/workspaces/<id>/request.pb   the NodeOpenWorkspaceRequest the workspace was opened with
//   <state>/workspaces/<id>/sandbox.json the SandboxSpec its supervisor launches
//   <state>/workspaces/<id>/outputs/     /outputs inside: the export quarantine
//   <state>/workspaces/<id>/ctl/         /.kura inside: kura-workspace-init's socket
//   <state>/workspaces/<id>/closed       present once the workspace was closed (and why)
//   <state>/workspaces/<id>/failed       why the supervisor could not start it
//   <state>/workspaces/<id>/supervisor.pid, sandbox.pid  the supervisor and the sandbox's init
//   <state>/workspaces/<id>/disk.img     with a disk cap: the file system mounted on outputs/
//   <state>/homes/<project>/<user>/      /home/<user> inside, kept across workspaces
//   <state>/home-disks/<project>/<user>.img  with a disk cap: the file system mounted on the
//                                        home, kept with it (node/workspace_disk.h)
//   <state>/snapshots/<sha256>/files/  export snapshots: root-owned, 0400, never mounted anywhere
//   <run>/workspaces/<id>.sock           the supervisor's socket (0600, root only)
// A plain value; thread-safe to share once built.
struct NodeDirs {
  std::string state;
  std::string run;

  std::string WorkspaceDir(const std::string& id) const { return state + "/workspaces/" + id; }
  std::string RequestFile(const std::string& id) const { return WorkspaceDir(id) + "/request.pb"; }
  std::string SpecFile(const std::string& id) const { return WorkspaceDir(id) + "/sandbox.json"; }
  std::string OutputsDir(const std::string& id) const { return WorkspaceDir(id) + "/outputs"; }
  std::string CtlDir(const std::string& id) const { return WorkspaceDir(id) + "/ctl"; }
  std::string InitSocket(const std::string& id) const { return CtlDir(id) + "/init.sock"; }
  std::string ClosedFile(const std::string& id) const { return WorkspaceDir(id) + "/closed"; }
  std::string FailedFile(const std::string& id) const { return WorkspaceDir(id) + "/failed"; }
  std::string LogFile(const std::string& id) const { return WorkspaceDir(id) + "/supervisor.log"; }
  std::string PidFile(const std::string& id) const { return WorkspaceDir(id) + "/supervisor.pid"; }
  std::string SandboxPidFile(const std::string& id) const {
    return WorkspaceDir(id) + "/sandbox.pid";
  }
  std::string HomeDir(const std::string& project, const std::string& user) const {
    return state + "/homes/" + project + "/" + user;
  }
  std::string WorkspaceDiskImage(const std::string& id) const {
    return WorkspaceDir(id) + "/disk.img";
  }
  // Beside the homes rather than among them: a user may be named "alice.img".
  std::string HomeDisksDir(const std::string& project) const {
    return state + "/home-disks/" + project;
  }
  std::string HomeDiskImage(const std::string& project, const std::string& user) const {
    return HomeDisksDir(project) + "/" + user + ".img";
  }
  std::string SnapshotsDir() const { return state + "/snapshots"; }
  std::string SocketDir() const { return run + "/workspaces"; }
  std::string SupervisorSocket(const std::string& id) const {
    return SocketDir() + "/" + id + ".sock";
  }
};

// The sandbox's id mapping (sandbox/user.h): sandbox uid N runs as host uid 100000 + N, so the
// host directories a workspace writes to are owned by that id.
inline constexpr uint32_t kSandboxHostIdBase = 100000;
inline constexpr uint32_t kDefaultUid = 1000;
inline constexpr uint32_t kMaxUid = 65535;

// Paths inside the sandbox.
inline constexpr char kInitPathInside[] = "/.kura-init";
inline constexpr char kCtlDirInside[] = "/.kura";
inline constexpr char kInitSocketInside[] = "/.kura/init.sock";
inline constexpr char kPythonDirInside[] = "/opt/kura/python";

// OK when `name` may be a workspace id, project, user or schema name, which become path
// components: 1 to 64 of [A-Za-z0-9._-], not starting with '.' or '-'. InvalidArgument naming
// `what` otherwise. Pure.
absl::Status ValidateName(const std::string& what, const std::string& name);

// Checks an open request (names, uid never 0, positive limits) and fills defaults (uid 1000).
// InvalidArgument on a bad field. Pure.
absl::StatusOr<v1::NodeOpenWorkspaceRequest> NormalizeOpenRequest(
    const v1::NodeOpenWorkspaceRequest& request);

// The host uid that sandbox uid `uid` maps to (the sandbox's fixed id range).
uint32_t HostIdOf(uint32_t uid);

// Reads <state>/workspaces/<id>/request.pb. NotFound when the workspace was never opened here.
absl::StatusOr<v1::NodeOpenWorkspaceRequest> ReadOpenRequest(const NodeDirs& dirs,
                                                             const std::string& id);

// Writes `contents` to `path` atomically (temporary file and rename), mode 0600.
absl::Status WriteFileAtomically(const std::string& path, const std::string& contents);

// Reads a whole (small) file.
absl::StatusOr<std::string> ReadSmallFile(const std::string& path);

// The start time of process `pid` (field 22 of /proc/<pid>/stat, in clock ticks since boot):
// with the pid, it names one process for good, even after the pid is reused. NotFound when no
// such process exists.
absl::StatusOr<uint64_t> ProcessStartTime(int pid);

// mkdir -p with `mode` for the created directories; an existing directory is kept.
absl::Status MakeDirs(const std::string& path, unsigned mode);

}  // namespace kura::node
