#pragma once

// kura.v1.Researcher: what a person at a VDI terminal does through the gateway. Every call
// first authenticates the terminal certificate (call_identity.h); every call but Login then
// the session token. Workspace calls check ownership and the project's grants
// (workspace_access.h) and are proxied to the workspace's node over mutual TLS with the
// gateway's certificate. Every decision is audited.
//
// Synchronous gRPC service (each call runs on a thread of the server's pool; RunJob and Upload
// hold theirs for their duration) except Attach, which uses the callback API. Thread-safe.

#include "gateway/gateway_state.h"
#include "gateway/pki.h"
#include "gateway/records.h"
#include "kura/v1/gateway.grpc.pb.h"

namespace kura::gateway {

class ResearcherService final
    : public kura::v1::Researcher::WithCallbackMethod_Attach<kura::v1::Researcher::Service> {
 public:
  explicit ResearcherService(GatewayState& state) : state_(state) {}

  grpc::Status Login(grpc::ServerContext* context, const kura::v1::LoginRequest* request,
                     kura::v1::LoginResponse* response) override;
  grpc::Status Logout(grpc::ServerContext* context, const kura::v1::LogoutRequest* request,
                      kura::v1::LogoutResponse* response) override;
  grpc::Status ListProjects(grpc::ServerContext* context,
                            const kura::v1::ListProjectsRequest* request,
                            kura::v1::ListProjectsResponse* response) override;
  grpc::Status OpenWorkspace(grpc::ServerContext* context,
                             const kura::v1::OpenWorkspaceRequest* request,
                             kura::v1::Workspace* response) override;
  grpc::Status ListWorkspaces(grpc::ServerContext* context,
                              const kura::v1::ListWorkspacesRequest* request,
                              kura::v1::ListWorkspacesResponse* response) override;
  grpc::Status CloseWorkspace(grpc::ServerContext* context,
                              const kura::v1::CloseWorkspaceRequest* request,
                              kura::v1::CloseWorkspaceResponse* response) override;
  // Callback API (attach_proxy.h): interactive sessions hold no thread and add the least
  // latency per keystroke.
  grpc::ServerBidiReactor<kura::v1::AttachInput, kura::v1::AttachOutput>* Attach(
      grpc::CallbackServerContext* context) override;
  grpc::Status RunJob(grpc::ServerContext* context, const kura::v1::JobRequest* request,
                      grpc::ServerWriter<kura::v1::JobOutput>* writer) override;
  grpc::Status Upload(grpc::ServerContext* context,
                      grpc::ServerReader<kura::v1::UploadChunk>* reader,
                      kura::v1::UploadResult* response) override;
  grpc::Status ListOutputs(grpc::ServerContext* context,
                           const kura::v1::ListOutputsRequest* request,
                           kura::v1::ListOutputsResponse* response) override;
  // Export requests and their review (researcher_exports.cc, docs/export.md).
  grpc::Status RequestExport(grpc::ServerContext* context,
                             const kura::v1::RequestExportRequest* request,
                             kura::v1::ExportRequest* response) override;
  grpc::Status ListExports(grpc::ServerContext* context,
                           const kura::v1::ListExportsRequest* request,
                           kura::v1::ListExportsResponse* response) override;
  grpc::Status ShowExport(grpc::ServerContext* context, const kura::v1::ShowExportRequest* request,
                          kura::v1::ExportRequest* response) override;
  grpc::Status WithdrawExport(grpc::ServerContext* context,
                              const kura::v1::WithdrawExportRequest* request,
                              kura::v1::ExportRequest* response) override;
  grpc::Status ResubmitExport(grpc::ServerContext* context,
                              const kura::v1::ResubmitExportRequest* request,
                              kura::v1::ExportRequest* response) override;
  grpc::Status ListReviews(grpc::ServerContext* context,
                           const kura::v1::ListReviewsRequest* request,
                           kura::v1::ListExportsResponse* response) override;
  grpc::Status ShowReview(grpc::ServerContext* context, const kura::v1::ShowExportRequest* request,
                          kura::v1::ExportRequest* response) override;
  grpc::Status Vote(grpc::ServerContext* context, const kura::v1::VoteRequest* request,
                    kura::v1::ExportRequest* response) override;
  grpc::Status Comment(grpc::ServerContext* context, const kura::v1::CommentRequest* request,
                       kura::v1::ExportRequest* response) override;
  // researcher_export_files.cc: the calls that move an export's bytes.
  grpc::Status ReadExportFile(grpc::ServerContext* context,
                              const kura::v1::ReadExportFileRequest* request,
                              grpc::ServerWriter<kura::v1::FileChunk>* writer) override;
  grpc::Status DownloadRelease(grpc::ServerContext* context,
                               const kura::v1::DownloadReleaseRequest* request,
                               grpc::ServerWriter<kura::v1::ReleaseChunk>* writer) override;

 private:
  // An authenticated researcher call: the terminal and the live session.
  struct Caller {
    PeerIdentity terminal;
    SessionRecord session;
    std::string actor;  // "user:<name>"
  };

  absl::StatusOr<Caller> Authenticate(const grpc::ServerContextBase& context);
  // Audits a refusal of `action` on `subject` and returns `status` unchanged.
  absl::Status Refuse(const Caller& caller, absl::string_view action, absl::string_view subject,
                      absl::Status status);
  // The caller's workspace `id`, open, with all its grants still valid. A workspace whose
  // grant ended is closed here (PermissionDenied saying so).
  absl::StatusOr<WorkspaceRecord> UsableWorkspace(const Caller& caller, absl::string_view id,
                                                  absl::string_view action);
  // The caller's own export request `id` (NotFound for anyone else's, as for a missing one).
  absl::StatusOr<ExportRecord> OwnExport(const Caller& caller, int64_t id);
  // Export request `id` if the caller may review it: a reviewer and member of its project, not
  // its author (PermissionDenied saying which).
  absl::StatusOr<ExportRecord> ReviewableExport(const Caller& caller, int64_t id);
  // Version `version` of the request whose latest version is `latest` (0: the latest itself);
  // NotFound when it has no such version.
  absl::StatusOr<ExportRecord> ExportVersion(const ExportRecord& latest, int version);
  // Export request `id` (its latest version), or NotFound audited as a refused `action`.
  absl::StatusOr<ExportRecord> FoundExport(const Caller& caller, int64_t id,
                                           absl::string_view action);
  // Export request `id` if the caller is its author or may review it.
  absl::StatusOr<ExportRecord> ReadableExport(const Caller& caller, int64_t id);
  // Moves request `r` (its latest version, updated in place) to the state its votes now give
  // (checked -> in_review on the first vote; then consolidation, approved, changes_requested
  // or rejected as Tally says), each move a compare-and-set that yields to a concurrent one.
  absl::Status SettleVotes(ExportRecord& r);
  // Closes `workspace` on its node (best effort: a node that is down is told by its next
  // heartbeat) and in the store.
  void CloseOnNode(const WorkspaceRecord& workspace, absl::string_view reason);

  absl::Status DoLogin(const grpc::ServerContext& context, const kura::v1::LoginRequest& request,
                       kura::v1::LoginResponse& response);
  absl::Status DoOpenWorkspace(const grpc::ServerContext& context,
                               const kura::v1::OpenWorkspaceRequest& request,
                               kura::v1::Workspace& response);
  absl::Status DoRunJob(grpc::ServerContext& context, const kura::v1::JobRequest& request,
                        grpc::ServerWriter<kura::v1::JobOutput>& writer);
  absl::Status DoUpload(grpc::ServerContext& context,
                        grpc::ServerReader<kura::v1::UploadChunk>& reader,
                        kura::v1::UploadResult& response);

  GatewayState& state_;
};

// The API's view of a workspace record.
kura::v1::Workspace WorkspaceToProto(const WorkspaceRecord& workspace,
                                     const std::vector<SchemaRecord>& schemas);

}  // namespace kura::gateway
