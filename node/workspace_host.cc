#include "node/workspace_host.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/logging.h"
#include "common/status.h"
#include "google/protobuf/util/json_util.h"
#include "node/workspace_disk.h"

extern char** environ;

namespace kura::node {
namespace {

constexpr auto kReadyTimeout = std::chrono::seconds(90);
// The control directory's tmpfs under a disk cap: room for init's socket and little else.
constexpr uint64_t kCtlBytes = 1 << 20;
// mkfs.ext4 with a journal needs room beyond its metadata for anything to be written.
constexpr uint64_t kMinDiskBytes = 16ull << 20;

absl::Status Chown(const std::string& path, uint32_t id) {
  if (::lchown(path.c_str(), id, id) != 0) return ErrnoError("lchown", path);
  return absl::OkStatus();
}

// The GPU indices of workspace `id` ("0 1\n"), beside its request.
std::string GpusFile(const NodeDirs& dirs, const std::string& id) {
  return dirs.WorkspaceDir(id) + "/gpus";
}

// The ids of every workspace that has a directory here.
std::vector<std::string> WorkspaceIds(const NodeDirs& dirs) {
  std::vector<std::string> ids;
  DIR* d = ::opendir((dirs.state + "/workspaces").c_str());
  if (d == nullptr) return ids;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ids.push_back(e->d_name);
  }
  ::closedir(d);
  return ids;
}

}  // namespace

absl::Status WorkspaceHost::Prepare() {
  // The sandbox binds a workspace's directories as its (unprivileged) user, which must be able
  // to traverse to them: search-only permission, no listing.
  KURA_RETURN_IF_ERROR(MakeDirs(options_.dirs.state + "/workspaces", 0711));
  KURA_RETURN_IF_ERROR(MakeDirs(options_.dirs.state + "/homes", 0711));
  for (const std::string& dir :
       {options_.dirs.state, options_.dirs.state + "/workspaces", options_.dirs.state + "/homes"}) {
    if (::chmod(dir.c_str(), 0711) != 0) return ErrnoError("chmod", dir);
  }
  KURA_RETURN_IF_ERROR(MakeDirs(options_.dirs.SocketDir(), 0700));
  // Sockets whose supervisor is gone (the machine rebooted, a supervisor was killed) are stale.
  if (DIR* d = ::opendir(options_.dirs.SocketDir().c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (!absl::EndsWith(name, ".sock")) continue;
      std::string path = options_.dirs.SocketDir() + "/" + name;
      if (!ConnectSeqpacket(path) && errno == ECONNREFUSED) ::unlink(path.c_str());
    }
    ::closedir(d);
  }
  ReapOrphanedSandboxes();
  KURA_RETURN_IF_ERROR(ChooseDiskCap());
  absl::MutexLock lock(&open_mu_);
  ReleaseIdleDisks();
  return absl::OkStatus();
}

absl::Status WorkspaceHost::ChooseDiskCap() {
  const uint64_t size = options_.policy.disk_bytes;
  if (size == 0) {
    KURA_LOG(Warning) << "no --disk-bytes: a workspace's home and outputs may fill the node's disk";
    return absl::OkStatus();
  }
  if (size < kMinDiskBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("--disk-bytes ", size, " is below the smallest workspace disk, ",
                     kMinDiskBytes));
  }
  absl::Status usable = ProbeDiskImages();
  if (usable.ok()) {
    disk_images_ = true;
    KURA_LOG(Info) << "each workspace's outputs and each home is a file system of " << size
                   << " bytes";
    return absl::OkStatus();
  }
  if (!options_.disk_cap_optional) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--disk-bytes ", size, " cannot be enforced here (", usable.message(),
        "); give the node loop devices, or pass --disk-cap optional to cap single files only"));
  }
  KURA_LOG(Warning) << "--disk-bytes " << size << " caps single files only: " << usable.message()
                    << "; a workspace's home and outputs together may fill the node's disk";
  return absl::OkStatus();
}

bool WorkspaceHost::IsOurProcess(const std::string& pid_file, const std::string& id) const {
  auto pid_text = ReadSmallFile(pid_file);
  int pid;
  if (!pid_text.ok() || !absl::SimpleAtoi(absl::StripAsciiWhitespace(*pid_text), &pid) ||
      pid <= 1) {
    return false;
  }
  // Matching the supervisor's command line keeps a reused pid from being mistaken for ours.
  auto cmdline = ReadSmallFile(absl::StrCat("/proc/", pid, "/cmdline"));
  std::string expected = absl::StrCat(std::string("--workspace\0", 12), id, std::string("\0", 1),
                                      std::string("--state\0", 8), options_.dirs.state);
  return cmdline.ok() && absl::StrContains(*cmdline, expected);
}

int WorkspaceHost::OurSandboxInit(const std::string& pid_file) const {
  // "<pid> <start time>": the init hides the supervisor's command line from the sandbox, so it is
  // recognised by its start time instead.
  auto text = ReadSmallFile(pid_file);
  if (!text.ok()) return 0;
  std::vector<std::string> parts =
      absl::StrSplit(absl::StripAsciiWhitespace(*text), ' ', absl::SkipEmpty());
  int pid = 0;
  uint64_t recorded = 0;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &pid) ||
      !absl::SimpleAtoi(parts[1], &recorded) || pid <= 1) {
    return 0;
  }
  auto start_time = ProcessStartTime(pid);
  return start_time.ok() && *start_time == recorded ? pid : 0;
}

void WorkspaceHost::ReapOrphanedSandboxes() {
  for (const std::string& id : WorkspaceIds(options_.dirs)) {
    if (!ValidateName("workspace id", id).ok() || Connect(id).ok()) continue;
    if (ReadSmallFile(options_.dirs.ClosedFile(id)).ok()) continue;
    if (IsOurProcess(options_.dirs.PidFile(id), id)) continue;            // still starting
    if (!ReadSmallFile(options_.dirs.SandboxPidFile(id)).ok()) continue;  // never launched
    // The supervisor is gone but its sandbox may not be: killing the init of its PID namespace
    // ends every process in it.
    if (int pid = OurSandboxInit(options_.dirs.SandboxPidFile(id)); pid > 1) {
      KURA_LOG(Warning) << "workspace " << id << ": supervisor gone, killing its sandbox " << pid;
      ::kill(pid, SIGKILL);
    }
    (void)WriteFileAtomically(options_.dirs.ClosedFile(id), "its supervisor ended unexpectedly\n");
  }
}

absl::StatusOr<UniqueFd> WorkspaceHost::Connect(const std::string& id) {
  KURA_RETURN_IF_ERROR(ValidateName("workspace id", id));
  UniqueFd conn = ConnectSeqpacket(options_.dirs.SupervisorSocket(id));
  if (!conn) {
    if (errno == ENOENT || errno == ECONNREFUSED) {
      return absl::NotFoundError(absl::StrCat("workspace ", id, " is not running on this node"));
    }
    return ErrnoError("connect", options_.dirs.SupervisorSocket(id));
  }
  return conn;
}

absl::StatusOr<std::pair<UniqueFd, Record>> WorkspaceHost::Call(
    const std::string& id, const std::vector<std::string>& fields) {
  KURA_ASSIGN_OR_RETURN(UniqueFd conn, Connect(id));
  if (int err = SendRecord(conn.get(), fields); err != 0) {
    return ErrnoError("sendmsg", options_.dirs.SupervisorSocket(id), err);
  }
  Record reply;
  if (int err = ReceiveRecord(conn.get(), &reply); err != 0) {
    if (err == ECONNRESET) {
      return absl::NotFoundError(absl::StrCat("workspace ", id, " is not running on this node"));
    }
    return ErrnoError("recvmsg", options_.dirs.SupervisorSocket(id), err);
  }
  if (reply.kind() == "error") return absl::FailedPreconditionError(reply.field(1));
  if (reply.kind() != "ok") return absl::InternalError("unexpected supervisor reply");
  return std::make_pair(std::move(conn), std::move(reply));
}

absl::StatusOr<v1::Workspace> WorkspaceHost::Describe(const std::string& id) {
  KURA_ASSIGN_OR_RETURN(auto call, Call(id, {"status"}));
  KURA_ASSIGN_OR_RETURN(v1::NodeOpenWorkspaceRequest request, ReadOpenRequest(options_.dirs, id));
  v1::Workspace out;
  out.set_id(id);
  out.set_project(request.project());
  out.set_user(request.user());
  out.set_node(options_.node_id);
  out.set_state("running");
  *out.mutable_resources() = request.resources();
  for (const v1::MountSchema& s : request.schemas()) {
    v1::SchemaRef* ref = out.add_schemas();
    ref->set_name(s.name());
    ref->set_manifest_sha256(s.manifest_sha256());
  }
  int64_t created = 0, active = 0;
  (void)absl::SimpleAtoi(call.second.field(1), &created);
  (void)absl::SimpleAtoi(call.second.field(2), &active);
  out.set_created_unix(created);
  out.set_last_active_unix(active);
  return out;
}

std::vector<v1::Workspace> WorkspaceHost::List() {
  std::vector<v1::Workspace> out;
  DIR* d = ::opendir(options_.dirs.SocketDir().c_str());
  if (d == nullptr) return out;
  std::vector<std::string> ids;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (absl::EndsWith(name, ".sock")) ids.push_back(name.substr(0, name.size() - 5));
  }
  ::closedir(d);
  for (const std::string& id : ids) {
    auto ws = Describe(id);
    if (ws.ok()) out.push_back(*std::move(ws));
  }
  return out;
}

v1::Resources WorkspaceHost::Allocated() {
  v1::Resources total;
  for (const v1::Workspace& ws : List()) {
    total.set_cpus(total.cpus() + ws.resources().cpus());
    total.set_memory_bytes(total.memory_bytes() + ws.resources().memory_bytes());
    for (const auto& [kind, n] : ws.resources().devices()) (*total.mutable_devices())[kind] += n;
  }
  return total;
}

bool WorkspaceHost::HoldsItsDevices(const std::string& id) {
  if (Connect(id).ok()) return true;
  // Closing: the supervisor removed its socket and wrote `closed` before killing the sandbox,
  // whose processes may still have the devices open.
  if (OurSandboxInit(options_.dirs.SandboxPidFile(id)) > 1) return true;
  // Starting: the supervisor lives but neither listens nor has launched the sandbox yet.
  return IsOurProcess(options_.dirs.PidFile(id), id) &&
         !ReadSmallFile(options_.dirs.ClosedFile(id)).ok() &&
         !ReadSmallFile(options_.dirs.FailedFile(id)).ok();
}

std::set<uint32_t> WorkspaceHost::GpusInUse() {
  std::set<uint32_t> in_use;
  for (const std::string& id : WorkspaceIds(options_.dirs)) {
    if (!ValidateName("workspace id", id).ok()) continue;
    auto text = ReadSmallFile(GpusFile(options_.dirs, id));
    if (!text.ok()) continue;
    if (!HoldsItsDevices(id)) continue;
    for (absl::string_view field :
         absl::StrSplit(*text, absl::ByAnyChar(" \n"), absl::SkipEmpty())) {
      uint32_t index;
      if (absl::SimpleAtoi(field, &index)) in_use.insert(index);
    }
  }
  return in_use;
}

absl::StatusOr<WorkspaceGpus> WorkspaceHost::ChooseGpus(
    const v1::NodeOpenWorkspaceRequest& request) {
  uint32_t wanted = 0;
  for (const auto& [kind, count] : request.resources().devices()) {
    if (count == 0) continue;
    if (kind != kNvidiaGpuKind) {
      return absl::FailedPreconditionError(
          absl::StrCat("asked for ", count, " devices of a kind this node does not offer (",
                       kind.substr(0, 64), "); it offers ", kNvidiaGpuKind));
    }
    wanted = count;
  }
  KURA_ASSIGN_OR_RETURN(std::vector<uint32_t> chosen,
                        ChooseFreeGpus(options_.gpus, GpusInUse(), wanted));
  return GpusForWorkspace(options_.gpus, chosen);
}

absl::Status WorkspaceHost::CreateDirectories(const v1::NodeOpenWorkspaceRequest& request) {
  const NodeDirs& dirs = options_.dirs;
  const std::string& id = request.workspace_id();
  const uint32_t host_id = HostIdOf(request.uid());
  const std::string home = dirs.HomeDir(request.project(), request.user());
  KURA_RETURN_IF_ERROR(MakeDirs(dirs.WorkspaceDir(id), 0711));
  KURA_RETURN_IF_ERROR(MakeDirs(dirs.OutputsDir(id), 0700));
  KURA_RETURN_IF_ERROR(MakeDirs(dirs.CtlDir(id), 0700));
  KURA_RETURN_IF_ERROR(MakeDirs(dirs.state + "/homes/" + request.project(), 0711));
  KURA_RETURN_IF_ERROR(MakeDirs(home, 0700));
  // The owners are set on what the sandbox will bind: the mounted disks when there are any.
  if (disk_images_) KURA_RETURN_IF_ERROR(MountDisks(request));
  KURA_RETURN_IF_ERROR(Chown(dirs.OutputsDir(id), host_id));
  KURA_RETURN_IF_ERROR(Chown(dirs.CtlDir(id), host_id));
  KURA_RETURN_IF_ERROR(Chown(home, host_id));
  for (const std::string& stale : {dirs.InitSocket(id), dirs.ClosedFile(id), dirs.FailedFile(id)}) {
    ::unlink(stale.c_str());
  }
  return absl::OkStatus();
}

absl::Status WorkspaceHost::MountDisks(const v1::NodeOpenWorkspaceRequest& request) {
  const NodeDirs& dirs = options_.dirs;
  const std::string& id = request.workspace_id();
  const uint32_t host_id = HostIdOf(request.uid());
  const uint64_t size = options_.policy.disk_bytes;
  KURA_RETURN_IF_ERROR(MountDiskImage({.image = dirs.WorkspaceDiskImage(id),
                                       .mount_point = dirs.OutputsDir(id),
                                       .size_bytes = size,
                                       .owner = host_id}));
  // The control directory holds only init's socket, yet the workspace's user may write there.
  KURA_RETURN_IF_ERROR(MountSmallTmpfs(dirs.CtlDir(id), kCtlBytes, host_id));
  KURA_RETURN_IF_ERROR(MakeDirs(dirs.HomeDisksDir(request.project()), 0700));
  return MountDiskImage({.image = dirs.HomeDiskImage(request.project(), request.user()),
                         .mount_point = dirs.HomeDir(request.project(), request.user()),
                         .size_bytes = size,
                         .owner = host_id});
}

void WorkspaceHost::ReleaseIdleDisks() {
  const NodeDirs& dirs = options_.dirs;
  std::set<std::string> homes_in_use;
  std::vector<v1::NodeOpenWorkspaceRequest> idle;
  for (const std::string& id : WorkspaceIds(dirs)) {
    if (!ValidateName("workspace id", id).ok()) continue;
    auto request = ReadOpenRequest(dirs, id);
    if (!request.ok()) continue;  // never opened: nothing of it is mounted
    if (HoldsItsDevices(id)) {
      homes_in_use.insert(dirs.HomeDir(request->project(), request->user()));
    } else {
      idle.push_back(*std::move(request));
    }
  }
  auto release = [](const std::string& mount_point) {
    if (absl::Status s = UnmountDisk(mount_point); !s.ok()) {
      KURA_LOG(Warning) << s;
    }
  };
  auto exists = [](const std::string& path) { return ::access(path.c_str(), F_OK) == 0; };
  for (const v1::NodeOpenWorkspaceRequest& r : idle) {
    // Only what this agent mounts, so that a node without a cap leaves other mounts alone.
    if (exists(dirs.WorkspaceDiskImage(r.workspace_id()))) {
      release(dirs.CtlDir(r.workspace_id()));
      release(dirs.OutputsDir(r.workspace_id()));
    }
    std::string home = dirs.HomeDir(r.project(), r.user());
    if (homes_in_use.count(home) == 0 && exists(dirs.HomeDiskImage(r.project(), r.user()))) {
      release(home);
    }
  }
}

absl::Status WorkspaceHost::StartSupervisor(const std::string& id) {
  const NodeDirs& dirs = options_.dirs;
  std::vector<std::string> args = {options_.self_binary, "supervise", "--workspace", id, "--state",
                                   dirs.state,           "--run",     dirs.run};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, dirs.LogFile(id).c_str(),
                                   O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // A session of its own: a terminal hang-up or a signal to the agent's group does not reach it.
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  pid_t pid;
  int err = ::posix_spawn(&pid, argv[0], &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (err != 0) return ErrnoError("posix_spawn", options_.self_binary, err);
  // The first process forks the supervisor proper and exits at once.
  int status;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return absl::OkStatus();
}

absl::Status WorkspaceHost::AwaitReady(const std::string& id) {
  auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (Connect(id).ok()) return absl::OkStatus();
    auto failed = ReadSmallFile(options_.dirs.FailedFile(id));
    if (failed.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("workspace ", id, " failed to start: ", *failed));
    }
    // Started and already closed again (an idle timeout shorter than this wait, a close).
    auto closed = ReadSmallFile(options_.dirs.ClosedFile(id));
    if (closed.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("workspace ", id, " was closed at once: ", *closed));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return absl::DeadlineExceededError(absl::StrCat("workspace ", id, " did not start in time"));
}

absl::StatusOr<v1::Workspace> WorkspaceHost::Open(const v1::NodeOpenWorkspaceRequest& raw) {
  KURA_ASSIGN_OR_RETURN(v1::NodeOpenWorkspaceRequest request, NormalizeOpenRequest(raw));
  const std::string& id = request.workspace_id();
  absl::MutexLock lock(&open_mu_);
  if (auto running = Describe(id); running.ok()) return running;
  // Workspaces that closed themselves (idle, their supervisor gone) give their disks back here.
  ReleaseIdleDisks();
  for (const v1::MountSchema& schema : request.schemas()) {
    KURA_RETURN_IF_ERROR(VerifySchemaManifest(schema));
  }
  KURA_ASSIGN_OR_RETURN(WorkspaceGpus gpus, ChooseGpus(request));
  KURA_RETURN_IF_ERROR(CreateDirectories(request));
  KURA_RETURN_IF_ERROR(
      WriteFileAtomically(options_.dirs.RequestFile(id), request.SerializeAsString()));
  // Written before the supervisor starts: from then on its life holds these GPUs.
  KURA_RETURN_IF_ERROR(WriteFileAtomically(GpusFile(options_.dirs, id),
                                           absl::StrCat(absl::StrJoin(gpus.indices, " "), "\n")));
  std::string json;
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(
           BuildWorkspaceSpec(request, options_.dirs, options_.policy, gpus), &json, print)
           .ok()) {
    return absl::InternalError("cannot write the sandbox spec");
  }
  KURA_RETURN_IF_ERROR(WriteFileAtomically(options_.dirs.SpecFile(id), json));
  KURA_RETURN_IF_ERROR(StartSupervisor(id));
  KURA_RETURN_IF_ERROR(AwaitReady(id));
  KURA_LOG(Info) << "workspace " << id << " opened for " << request.user() << " in "
                 << request.project()
                 << (gpus.indices.empty() ? ""
                                          : absl::StrCat(" with GPUs ", gpus.cuda_visible_devices));
  absl::StatusOr<v1::Workspace> opened = Describe(id);
  if (!opened.ok()) {
    if (auto closed = ReadSmallFile(options_.dirs.ClosedFile(id)); closed.ok()) {
      return absl::FailedPreconditionError(
          absl::StrCat("workspace ", id, " was closed at once: ", *closed));
    }
  }
  return opened;
}

absl::Status WorkspaceHost::Close(const std::string& id, const std::string& reason) {
  KURA_ASSIGN_OR_RETURN(auto call, Call(id, {"close", reason}));
  // The supervisor removes its socket before it kills the sandbox and exits once the sandbox is
  // gone; wait for the end of its connection so that Close returns with everything dead.
  Record ignored;
  while (ReceiveRecord(call.first.get(), &ignored) == 0) {
  }
  {
    absl::MutexLock lock(&open_mu_);
    ReleaseIdleDisks();
  }
  KURA_LOG(Info) << "workspace " << id << " closed: " << reason;
  return absl::OkStatus();
}

}  // namespace kura::node
