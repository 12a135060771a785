// The streaming calls of kura.v1.Researcher, proxied to the workspace's node: Attach (terminal
// bytes both ways, attach_proxy.h), RunJob (output streamed back) and Upload (code into the
// project home).
// Cancellation propagates: when the researcher goes away, the node call is cancelled too.

#include <grpcpp/client_context.h>
#include <openssl/evp.h>

#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/crypto.h"
#include "common/logging.h"
#include "common/status.h"
#include "gateway/attach_proxy.h"
#include "gateway/grpc_edge.h"
#include "gateway/researcher_service.h"

namespace kura::gateway {
namespace {

// Uploads are code and scripts, not data: the node enforces its own limits as well.
constexpr uint64_t kMaxUploadBytes = 64ull << 20;
constexpr size_t kMaxAuditedArgvBytes = 1024;

struct EvpMdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};

// SHA-256 over a stream of chunks.
class StreamingSha256 final {
 public:
  StreamingSha256() : ctx_(EVP_MD_CTX_new()) {
    if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) abort();
  }
  void Update(absl::string_view data) {
    if (EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1) abort();
  }
  std::string HexDigest() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(ctx_.get(), digest, &length) != 1) abort();
    return HexEncode(absl::string_view(reinterpret_cast<const char*>(digest), length));
  }

 private:
  std::unique_ptr<EVP_MD_CTX, EvpMdCtxDeleter> ctx_;
};

// An attach refused before it began: finishes at once with the reason.
class RefusedAttach final
    : public grpc::ServerBidiReactor<kura::v1::AttachInput, kura::v1::AttachOutput> {
 public:
  explicit RefusedAttach(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

absl::Status ValidateUploadPath(absl::string_view path) {
  if (path.empty() || absl::StartsWith(path, "/") || path.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError("upload path must be relative to your project home");
  }
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part == "..") return absl::InvalidArgumentError("upload path may not contain '..'");
  }
  return absl::OkStatus();
}

}  // namespace

grpc::Status ResearcherService::RunJob(grpc::ServerContext* context,
                                       const kura::v1::JobRequest* request,
                                       grpc::ServerWriter<kura::v1::JobOutput>* writer) {
  return ToGrpcStatus("RunJob", DoRunJob(*context, *request, *writer));
}

absl::Status ResearcherService::DoRunJob(grpc::ServerContext& context,
                                         const kura::v1::JobRequest& request,
                                         grpc::ServerWriter<kura::v1::JobOutput>& writer) {
  KURA_ASSIGN_OR_RETURN(Caller caller, Authenticate(context));
  KURA_ASSIGN_OR_RETURN(WorkspaceRecord workspace,
                        UsableWorkspace(caller, request.workspace_id(), "job"));
  if (request.argv().empty()) return absl::InvalidArgumentError("give a command to run");
  std::string argv = absl::StrJoin(request.argv(), " ");
  if (argv.size() > kMaxAuditedArgvBytes) argv.resize(kMaxAuditedArgvBytes);
  const std::string subject = absl::StrCat("workspace:", workspace.id);
  KURA_ASSIGN_OR_RETURN(auto stub, state_.NodeStub(workspace.node));
  // Recorded before it runs, so that a job that never ends is in the log too.
  state_.Audit({caller.actor, "job", subject, "ok",
                JsonObject({{"argv", argv}, {"terminal", caller.terminal.id}})});
  std::unique_ptr<grpc::ClientContext> node_context = grpc::ClientContext::FromServerContext(context);
  std::unique_ptr<grpc::ClientReader<kura::v1::JobOutput>> node_reader =
      stub->RunJob(node_context.get(), request);
  kura::v1::JobOutput output;
  int exit_code = -1;
  while (node_reader->Read(&output)) {
    if (output.output_case() == kura::v1::JobOutput::kExitCode) exit_code = output.exit_code();
    if (!writer.Write(output)) {
      node_context->TryCancel();
      break;
    }
  }
  absl::Status status = FromNodeStatus(workspace.node, node_reader->Finish());
  state_.Audit({caller.actor, "job.end", subject, status.ok() ? "ok" : "failed",
                JsonObject({{"exit_code", absl::StrCat(exit_code)},
                            {"status", std::string(status.message())}})});
  return status;
}

grpc::ServerBidiReactor<kura::v1::AttachInput, kura::v1::AttachOutput>*
ResearcherService::Attach(grpc::CallbackServerContext* context) {
  absl::StatusOr<Caller> caller = Authenticate(*context);
  if (!caller.ok()) return new RefusedAttach(ToGrpcStatus("Attach", caller.status()));
  auto subject = std::make_shared<std::string>();
  AttachProxy::Hooks hooks;
  hooks.open = [this, caller = *caller, subject](const kura::v1::AttachStart& start)
      -> absl::StatusOr<std::shared_ptr<kura::v1::NodeAgent::Stub>> {
    KURA_ASSIGN_OR_RETURN(WorkspaceRecord workspace,
                          UsableWorkspace(caller, start.workspace_id(), "attach"));
    KURA_ASSIGN_OR_RETURN(auto stub, state_.NodeStub(workspace.node));
    *subject = absl::StrCat("workspace:", workspace.id);
    state_.Audit({caller.actor, "attach", *subject, "ok",
                  JsonObject({{"argv", absl::StrJoin(start.argv(), " ")},
                              {"terminal", caller.terminal.id}})});
    return stub;
  };
  hooks.to_grpc = [](const absl::Status& status) { return ToGrpcStatus("Attach", status); };
  hooks.done = [this, actor = caller->actor, subject](int exit_code, const absl::Status& status) {
    if (subject->empty()) return;  // refused before it began; already audited
    state_.Audit({actor, "attach.end", *subject, status.ok() ? "ok" : "failed",
                  JsonObject({{"exit_code", absl::StrCat(exit_code)},
                              {"status", std::string(status.message())}})});
  };
  return new AttachProxy(context, std::move(hooks));
}

grpc::Status ResearcherService::Upload(grpc::ServerContext* context,
                                       grpc::ServerReader<kura::v1::UploadChunk>* reader,
                                       kura::v1::UploadResult* response) {
  return ToGrpcStatus("Upload", DoUpload(*context, *reader, *response));
}

absl::Status ResearcherService::DoUpload(grpc::ServerContext& context,
                                         grpc::ServerReader<kura::v1::UploadChunk>& reader,
                                         kura::v1::UploadResult& response) {
  KURA_ASSIGN_OR_RETURN(Caller caller, Authenticate(context));
  kura::v1::UploadChunk first;
  if (!reader.Read(&first) || first.part_case() != kura::v1::UploadChunk::kStart) {
    return absl::InvalidArgumentError("an upload must begin with its workspace and path");
  }
  const kura::v1::UploadStart& start = first.start();
  KURA_ASSIGN_OR_RETURN(WorkspaceRecord workspace,
                        UsableWorkspace(caller, start.workspace_id(), "upload"));
  const std::string subject = absl::StrCat("workspace:", workspace.id);
  KURA_RETURN_IF_ERROR(ValidateUploadPath(start.path()));
  if (start.size() > kMaxUploadBytes) {
    return Refuse(caller, "upload", subject,
                  absl::InvalidArgumentError(absl::StrCat(
                      "uploads are limited to ", kMaxUploadBytes >> 20, " MiB of code and scripts")));
  }
  KURA_ASSIGN_OR_RETURN(auto stub, state_.NodeStub(workspace.node));
  std::unique_ptr<grpc::ClientContext> node_context = grpc::ClientContext::FromServerContext(context);
  kura::v1::UploadResult node_result;
  auto node_writer = stub->Upload(node_context.get(), &node_result);
  StreamingSha256 sha;
  uint64_t total = 0;
  absl::Status refused;
  bool node_open = node_writer->Write(first);
  kura::v1::UploadChunk chunk;
  while (node_open && reader.Read(&chunk)) {
    if (chunk.part_case() != kura::v1::UploadChunk::kData) continue;
    total += chunk.data().size();
    if (total > start.size()) {
      refused = absl::InvalidArgumentError("the upload is larger than it said it would be");
      node_context->TryCancel();
      break;
    }
    sha.Update(chunk.data());
    node_open = node_writer->Write(chunk);
  }
  if (refused.ok()) node_writer->WritesDone();
  absl::Status status = FromNodeStatus(workspace.node, node_writer->Finish());
  if (!refused.ok()) return Refuse(caller, "upload", subject, refused);
  const std::string digest = sha.HexDigest();
  if (status.ok() && total != start.size()) {
    status = absl::InvalidArgumentError(
        absl::StrCat("the upload ended after ", total, " of ", start.size(), " bytes"));
  }
  if (status.ok() && !node_result.sha256().empty() && node_result.sha256() != digest) {
    status = absl::InternalError(absl::StrCat("node stored sha256 ", node_result.sha256(),
                                              ", gateway saw ", digest));
  }
  state_.Audit({caller.actor, "upload", subject, status.ok() ? "ok" : "failed",
                JsonObject({{"path", start.path()},
                            {"size", absl::StrCat(total)},
                            {"sha256", digest},
                            {"terminal", caller.terminal.id}})});
  KURA_RETURN_IF_ERROR(status);
  response = node_result;
  response.set_sha256(digest);
  response.set_size(total);
  return absl::OkStatus();
}

}  // namespace kura::gateway
