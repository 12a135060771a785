#include "node/node_service.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <termios.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/crypto.h"
#include "common/logging.h"
#include "common/status.h"
#include "common/tls.h"
#include "gateway/pki.h"
#include "node/outputs.h"
#include "node/snapshot.h"
#include "disclosure/report.h"
#include "node/upload.h"

namespace kura::node {
namespace {

// What one NodeSnapshotFile message of ReadSnapshotFile carries at most (node.proto).
constexpr size_t kSnapshotChunkBytes = 1 << 20;

// Converts at the gRPC edge: the caller (the gateway) gets the code and, except for internal
// failures, the message; internal details stay in the node's log.
grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  if (status.code() == absl::StatusCode::kInternal || status.code() == absl::StatusCode::kUnknown ||
      status.code() == absl::StatusCode::kDataLoss) {
    KURA_LOG(Error) << status;
    return grpc::Status(grpc::StatusCode::INTERNAL, "internal error on the node");
  }
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

// Environment a client may pass into a terminal session; anything else is dropped.
std::vector<std::string> FilterClientEnv(
    const google::protobuf::RepeatedPtrField<std::string>& env) {
  std::vector<std::string> out;
  for (const std::string& e : env) {
    if (e.size() > 256 || e.find('\n') != std::string::npos) continue;
    if (absl::StartsWith(e, "TERM=") || absl::StartsWith(e, "COLORTERM=") ||
        absl::StartsWith(e, "LANG=") || absl::StartsWith(e, "LC_")) {
      out.push_back(e);
    }
  }
  return out;
}

bool WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    done += n;
  }
  return true;
}

// What one AttachOutput carries at most: a burst of terminal output is read until it is this
// big or nothing more is ready, then sent as one message (the gateway merges further).
constexpr size_t kTerminalChunkBytes = 256 << 10;

// Reads what `fd` holds now without blocking; false at end of file or on error.
bool ReadAvailable(int fd, std::string* out) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return true;
  return ReadCoalesced(fd, kTerminalChunkBytes, out) > 0;
}

using AttachStream = grpc::ServerReaderWriter<v1::AttachOutput, v1::AttachInput>;

// Client to terminal: keystrokes, window sizes and signals, until the client half-closes or
// goes away; then signals `input_done` (an eventfd).
void ForwardClientInput(AttachStream* stream, int master, int input_done) {
  v1::AttachInput in;
  while (stream->Read(&in)) {
    if (in.has_stdin()) {
      if (!WriteAll(master, in.stdin())) break;
    } else if (in.has_resize()) {
      winsize ws{};
      ws.ws_row = in.resize().rows();
      ws.ws_col = in.resize().cols();
      ::ioctl(master, TIOCSWINSZ, &ws);
    } else if (in.has_signal()) {
      int sig = in.signal();
      if (sig == SIGINT || sig == SIGQUIT || sig == SIGTSTP || sig == SIGTERM || sig == SIGHUP ||
          sig == SIGKILL || sig == SIGCONT || sig == SIGWINCH) {
        ::ioctl(master, TIOCSIG, sig);  // to the terminal's foreground process group
      }
    }
  }
  uint64_t one = 1;
  (void)::write(input_done, &one, sizeof(one));
}

struct TerminalEnd {
  grpc::Status status;
  bool input_ended = false;
};

// Terminal to client until the process exits (its last output and then its exit code are
// sent), the client stops sending, or the supervisor says the shell was taken over or the
// workspace closed.
TerminalEnd RelayTerminalOutput(AttachStream* stream, int master, int conn, int input_done) {
  TerminalEnd end;
  bool master_open = true;
  while (true) {
    pollfd pfds[3] = {
        {master_open ? master : -1, POLLIN, 0}, {conn, POLLIN, 0}, {input_done, POLLIN, 0}};
    if (::poll(pfds, 3, -1) < 0 && errno != EINTR) return end;
    if (pfds[0].revents) {
      std::string chunk;
      ssize_t n = ReadCoalesced(master, kTerminalChunkBytes, &chunk);
      if (n > 0) {
        v1::AttachOutput out;
        out.set_data(std::move(chunk));
        if (!stream->Write(out)) return end;
      } else if (n == 0 || errno != EINTR) {
        master_open = false;  // EIO: every process of the terminal closed it
      }
    }
    if (pfds[1].revents) {
      Record r;
      if (ReceiveRecord(conn, &r) != 0 || (r.kind() != "exit" && r.kind() != "detached")) {
        end.status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "the workspace was closed");
        return end;
      }
      if (r.kind() == "detached") {
        end.status = grpc::Status(grpc::StatusCode::ABORTED, "the shell was attached elsewhere");
        return end;
      }
      // What the process wrote before it ended is in the terminal's buffer already.
      std::string chunk;
      while (master_open && ReadAvailable(master, &chunk) && !chunk.empty()) {
        v1::AttachOutput out;
        out.set_data(std::move(chunk));
        stream->Write(out);
        chunk.clear();
      }
      v1::AttachOutput out;
      out.set_exit_code(std::atoi(r.field(1).c_str()));
      stream->Write(out);
      return end;
    }
    if (pfds[2].revents) {
      end.input_ended = true;
      return end;
    }
  }
}
}  // namespace

v1::Resources MachineCapacity() {
  v1::Resources r;
  r.set_cpus(static_cast<double>(::sysconf(_SC_NPROCESSORS_ONLN)));
  r.set_memory_bytes(static_cast<uint64_t>(::sysconf(_SC_PHYS_PAGES)) *
                     static_cast<uint64_t>(::sysconf(_SC_PAGESIZE)));
  return r;
}

grpc::Status NodeAgentService::Authorize(grpc::ServerContext* context) {
  auto pem = PeerCertificatePem(*context->auth_context());
  if (!pem.ok()) {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "a client certificate is required");
  }
  auto peer = gateway::VerifyPeerCertificate(*pem, options_.ca_pem, {}, absl::Now(),
                                             gateway::PeerRole::kGateway);
  if (!peer.ok()) {
    KURA_LOG(Warning) << "refused a call from " << context->peer() << ": " << peer.status();
    return grpc::Status(
        grpc::StatusCode::UNAUTHENTICATED,
        absl::StrCat("only kura's gateway may call a node: ", peer.status().message()));
  }
  if (options_.revocation != nullptr) {
    if (absl::Status s = options_.revocation->Check(peer->serial, "gateway"); !s.ok()) {
      KURA_LOG(Warning) << "refused a call from " << context->peer() << " (" << peer->id
                        << "): " << s;
      return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, std::string(s.message()));
    }
  }
  return grpc::Status::OK;
}

grpc::Status NodeAgentService::GetInventory(grpc::ServerContext* context,
                                            const v1::GetInventoryRequest*,
                                            v1::Inventory* response) {
  if (grpc::Status s = Authorize(context); !s.ok()) return s;
  response->set_node_id(host_->options().node_id);
  *response->mutable_capacity() = options_.capacity;
  for (v1::Workspace& ws : host_->List()) *response->add_workspaces() = std::move(ws);
  v1::Resources allocated;
  for (const v1::Workspace& ws : response->workspaces()) {
    allocated.set_cpus(allocated.cpus() + ws.resources().cpus());
    allocated.set_memory_bytes(allocated.memory_bytes() + ws.resources().memory_bytes());
    for (const auto& [kind, n] : ws.resources().devices()) {
      (*allocated.mutable_devices())[kind] += n;
    }
  }
  *response->mutable_allocated() = allocated;
  utsname u;
  if (::uname(&u) == 0) response->set_kernel(absl::StrCat(u.sysname, " ", u.release));
  struct stat st;
  response->set_cgroup_v2(::stat("/sys/fs/cgroup/cgroup.controllers", &st) == 0);
  response->set_has_python3(::access("/usr/bin/python3", X_OK) == 0);
  response->set_has_r(::access("/usr/bin/R", X_OK) == 0);
  return grpc::Status::OK;
}

grpc::Status NodeAgentService::OpenWorkspace(grpc::ServerContext* context,
                                             const v1::NodeOpenWorkspaceRequest* request,
                                             v1::Workspace* response) {
  if (grpc::Status s = Authorize(context); !s.ok()) return s;
  auto ws = host_->Open(*request);
  if (!ws.ok()) return ToGrpc(ws.status());
  *response = *std::move(ws);
  return grpc::Status::OK;
}

grpc::Status NodeAgentService::CloseWorkspace(grpc::ServerContext* context,
                                              const v1::NodeCloseWorkspaceRequest* request,
                                              v1::NodeCloseWorkspaceResponse*) {
  if (grpc::Status s = Authorize(context); !s.ok()) return s;
  return ToGrpc(host_->Close(request->workspace_id(), request->reason().empty()
                                                          ? "closed by the gateway"
                                                          : request->reason()));
}

grpc::Status NodeAgentService::Attach(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::AttachOutput, v1::AttachInput>* stream) {
  if (grpc::Status s = Authorize(context); !s.ok()) return s;
  v1::AttachInput first;
  if (!stream->Read(&first) || !first.has_start()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the first message must be start");
  }
  const v1::AttachStart& start = first.start();
  std::vector<std::string> env = FilterClientEnv(start.env());
  std::vector<std::string> fields = {"attach", absl::StrCat(start.size().rows()),
                                     absl::StrCat(start.size().cols()), absl::StrCat(env.size())};
  fields.insert(fields.end(), env.begin(), env.end());
  fields.insert(fields.end(), start.argv().begin(), start.argv().end());
  auto call = host_->Call(start.workspace_id(), fields);
  if (!call.ok()) return ToGrpc(call.status());
  if (call->second.fds.size() != 1) return ToGrpc(absl::InternalError("no PTY from supervisor"));
  UniqueFd conn = std::move(call->first);
  UniqueFd master = std::move(call->second.fds[0]);
  UniqueFd input_done(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!input_done) return ToGrpc(ErrnoError("eventfd"));

  // Client to terminal on a thread of its own: gRPC's Read blocks.
  std::thread input([&] { ForwardClientInput(stream, master.get(), input_done.get()); });
  TerminalEnd end = RelayTerminalOutput(stream, master.get(), conn.get(), input_done.get());
  // The client half-closes after the exit code (or detaches by half-closing); give it a moment,
  // then cancel so the input thread's Read returns.
  pollfd p{input_done.get(), POLLIN, 0};
  if (!end.input_ended && ::poll(&p, 1, 5000) <= 0) context->TryCancel();
  input.join();
  return end.status;
}

grpc::Status NodeAgentService::RunJob(grpc::ServerContext* context, const v1::JobRequest* request,
                                      grpc::ServerWriter<v1::JobOutput>* writer) {
  if (grpc::Status s = Authorize(context); !s.ok()) return s;
  if (request->argv().empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "a job needs a command");
  }
  std::vector<std::string> fields = {"job", request->cwd(), "0"};
  fields.insert(fields.end(), request->argv().begin(), request->argv().end());
  auto call = host_->Call(request->workspace_id(), fields);
  if (!call.ok()) return ToGrpc(call.status());
  if (call->second.fds.size() != 3) return ToGrpc(absl::InternalError("no pipes from supervisor"));
  UniqueFd conn = std::move(call->first);
  call->second.fds[0].Reset();  // a batch job reads no input
  UniqueFd out_fd = std::move(call->second.fds[1]);
  UniqueFd err_fd = std::move(call->second.fds[2]);

  auto forward = [&](UniqueFd& fd, bool is_stdout) {
    char buf[65536];
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n <= 0) {
      if (n < 0 && errno == EINTR) return true;
      fd.Reset();
      return true;
    }
    v1::JobOutput out;
    if (is_stdout) {
      out.set_stdout(buf, n);
    } else {
      out.set_stderr(buf, n);
    }
    return writer->Write(out);
  };
  bool exited = false;
  int exit_code = 0;
  while (!exited) {
    if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
    pollfd pfds[3] = {
        {out_fd.get(), POLLIN, 0}, {err_fd.get(), POLLIN, 0}, {conn.get(), POLLIN, 0}};
    // The timeout only lets a cancelled call (the client went away) be noticed.
    if (::poll(pfds, 3, 250) < 0 && errno != EINTR) break;
    if (pfds[0].revents && !forward(out_fd, true)) return grpc::Status::CANCELLED;
    if (pfds[1].revents && !forward(err_fd, false)) return grpc::Status::CANCELLED;
    if (pfds[2].revents) {
      Record r;
      if (ReceiveRecord(conn.get(), &r) != 0 || r.kind() != "exit") {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the workspace was closed");
      }
      exited = true;
      exit_code = std::atoi(r.field(1).c_str());
    }
  }
  // Output written before the exit is in the pipes; a background process that keeps them open
  // does not hold the job's end.
  for (UniqueFd* fd : {&out_fd, &err_fd}) {
    std::string chunk;
    while (fd->valid() && ReadAvailable(fd->get(), &chunk) && !chunk.empty()) {
      v1::JobOutput out;
      if (fd == &out_fd) {
        out.set_stdout(chunk);
      } else {
        out.set_stderr(chunk);
      }
      writer->Write(out);
      chunk.clear();
    }
  }
  v1::JobOutput last;
  last.set_exit_code(exit_code);
  writer->Write(last);
  return grpc::Status::OK;
}

grpc::Status NodeAgentService::Upload(grpc::ServerContext* context,
                                      grpc::ServerReader<v1::UploadChunk>* reader,
                                      v1::UploadResult* response) {
  if (grpc::Status s = Authorize(context); !s.ok()) return s;
  v1::UploadChunk chunk;
  if (!reader->Read(&chunk) || !chunk.has_start()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the first message must be start");
  }
  const v1::UploadStart start = chunk.start();
  if (absl::Status s = CheckUploadPath(start.path()); !s.ok()) return ToGrpc(s);
  const std::string too_large = absl::StrCat("upload refused: larger than the limit of ",
                                             options_.upload_limit_bytes, " bytes");
  if (start.size() > options_.upload_limit_bytes) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, too_large);
  }
  auto request = ReadOpenRequest(host_->dirs(), start.workspace_id());
  if (!request.ok()) return ToGrpc(request.status());
  std::string contents;
  while (reader->Read(&chunk)) {
    if (!chunk.has_data()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "only data may follow start");
    }
    if (contents.size() + chunk.data().size() > options_.upload_limit_bytes) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, too_large);
    }
    contents.append(chunk.data());
  }
  if (start.size() != 0 && start.size() != contents.size()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "upload incomplete: fewer or more bytes than announced");
  }
  if (absl::Status s = CheckUploadContents(contents); !s.ok()) return ToGrpc(s);
  auto target = UploadTarget::Create(host_->dirs().HomeDir(request->project(), request->user()),
                                     start.path(), HostIdOf(request->uid()), start.mode());
  if (!target.ok()) return ToGrpc(target.status());
  if (absl::Status s = target->Commit(contents); !s.ok()) return ToGrpc(s);
  response->set_path(start.path());
  response->set_size(contents.size());
  response->set_sha256(Sha256Hex(contents));
  KURA_LOG(Info) << "upload into workspace " << start.workspace_id() << ": " << start.path()
                 << " sha256 " << response->sha256();
  return grpc::Status::OK;
}

grpc::Status NodeAgentService::ListOutputs(grpc::ServerContext* context,
                                           const v1::NodeListOutputsRequest* request,
                                           v1::NodeListOutputsResponse* response) {
  if (grpc::Status s = Authorize(context); !s.ok()) return s;
  auto known = ReadOpenRequest(host_->dirs(), request->workspace_id());
  if (!known.ok()) return ToGrpc(known.status());
  auto files = ListOutputFiles(host_->dirs().OutputsDir(request->workspace_id()));
  if (!files.ok()) return ToGrpc(files.status());
  for (v1::OutputFile& f : *files) *response->add_files() = std::move(f);
  return grpc::Status::OK;
}

grpc::Status NodeAgentService::SnapshotOutputs(grpc::ServerContext* context,
                                               const v1::NodeSnapshotRequest* request,
                                               v1::NodeSnapshotResponse* response) {
  if (grpc::Status s = Authorize(context); !s.ok()) return s;
  auto known = ReadOpenRequest(host_->dirs(), request->workspace_id());
  if (!known.ok()) return ToGrpc(known.status());
  auto policy = disclosure::NamedPolicy(request->policy().empty() ? "acro-default"
                                                                   : request->policy());
  if (!policy.ok()) return ToGrpc(absl::InvalidArgumentError(policy.status().message()));
  std::vector<std::string> paths(request->paths().begin(), request->paths().end());
  auto snapshot = SnapshotOutputFiles(host_->dirs().OutputsDir(request->workspace_id()),
                                      host_->dirs().SnapshotsDir(), paths, *policy);
  if (!snapshot.ok()) return ToGrpc(snapshot.status());
  std::vector<v1::MountSchema> schemas(known->schemas().begin(), known->schemas().end());
  std::vector<v1::TableSpecDocument> specs(request->specs().begin(), request->specs().end());
  std::vector<v1::SchemaIdentity> identities;
  auto report = CheckSnapshot(*snapshot, schemas, specs, *policy, &identities);
  if (!report.ok()) return ToGrpc(report.status());
  response->set_snapshot_id(snapshot->id);
  for (v1::OutputFile& f : snapshot->files) *response->add_files() = std::move(f);
  response->set_report_json(disclosure::FormatReportJson(*report));
  response->set_verdict(std::string(disclosure::VerdictName(report->OverallVerdict())));
  response->set_policy_name(report->policy_name);
  response->set_policy_sha256(report->policy_sha256);
  response->set_checker_version(disclosure::kCheckerVersion);
  for (v1::SchemaIdentity& id : identities) *response->add_schemas() = std::move(id);
  *response->mutable_image() = options_.image;
  KURA_LOG(Info) << "workspace " << request->workspace_id() << ": snapshot " << snapshot->id
                 << " of " << paths.size() << " files, verdict " << response->verdict();
  return grpc::Status::OK;
}

grpc::Status NodeAgentService::ReadSnapshotFile(grpc::ServerContext* context,
                                                const v1::NodeReadSnapshotFileRequest* request,
                                                grpc::ServerWriter<v1::NodeSnapshotFile>* writer) {
  if (grpc::Status s = Authorize(context); !s.ok()) return s;
  auto file =
      OpenSnapshotFile(host_->dirs().SnapshotsDir(), request->snapshot_id(), request->path());
  if (!file.ok()) return ToGrpc(file.status());
  // One chunk in memory at a time, however large the file: a snapshot may hold 256 MiB.
  v1::NodeSnapshotFile chunk;
  chunk.set_size(file->size);
  int64_t offset = 0;
  do {
    if (absl::Status s =
            ReadSnapshotChunk(*file, offset, kSnapshotChunkBytes, chunk.mutable_data());
        !s.ok()) {
      return ToGrpc(s);
    }
    offset += static_cast<int64_t>(chunk.data().size());
    if (!writer->Write(chunk)) {
      return grpc::Status(grpc::StatusCode::CANCELLED, "the gateway stopped reading");
    }
    chunk.clear_size();
  } while (offset < file->size);
  return grpc::Status::OK;
}

}  // namespace kura::node
