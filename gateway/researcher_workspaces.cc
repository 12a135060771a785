// The workspace calls of kura.v1.Researcher: open (policy, placement, the node's
// OpenWorkspace), list, close and list outputs.

#include <grpcpp/client_context.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/crypto.h"
#include "common/logging.h"
#include "common/status.h"
#include "gateway/call_identity.h"
#include "gateway/grpc_edge.h"
#include "gateway/researcher_service.h"
#include "gateway/workspace_access.h"
#include "gateway/workspace_closing.h"

namespace kura::gateway {
namespace {

constexpr double kDefaultCpus = 1.0;
constexpr uint64_t kDefaultMemoryBytes = 2ull << 30;
constexpr double kMaxCpus = 1024.0;
constexpr uint32_t kWorkspaceUid = 1000;
constexpr absl::Duration kNodeOpenDeadline = absl::Seconds(60);
constexpr absl::Duration kNodeCallDeadline = absl::Seconds(15);

void SetDeadline(grpc::ClientContext& context, absl::Duration timeout) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

absl::StatusOr<Resources> RequestedResources(const kura::v1::Resources& asked) {
  kura::v1::Resources resources = asked;
  if (resources.cpus() < 0 || resources.cpus() > kMaxCpus) {
    return absl::InvalidArgumentError(absl::StrCat("cannot ask for ", resources.cpus(), " CPUs"));
  }
  if (resources.cpus() == 0) resources.set_cpus(kDefaultCpus);
  if (resources.memory_bytes() == 0) resources.set_memory_bytes(kDefaultMemoryBytes);
  return FromProto(resources);
}

absl::StatusOr<WorkspaceRecord> NewWorkspaceRecord(const std::string& user,
                                                   const std::string& project,
                                                   const Placement& placement, absl::Time now) {
  KURA_ASSIGN_OR_RETURN(std::string random, RandomBytes(6));
  WorkspaceRecord workspace;
  workspace.id = absl::StrCat("ws-", HexEncode(random));
  workspace.project = project;
  workspace.user = user;
  workspace.node = placement.node;
  workspace.state = WorkspaceState::kPending;
  workspace.resources = placement.resources;
  workspace.created = now;
  workspace.updated = now;
  return workspace;
}

// Asks the workspace's node to start it with exactly `schemas` mounted read-only.
absl::Status OpenOnNode(GatewayState& state, const WorkspaceRecord& workspace,
                        const std::vector<SchemaRecord>& schemas) {
  kura::v1::NodeOpenWorkspaceRequest request;
  request.set_workspace_id(workspace.id);
  request.set_project(workspace.project);
  request.set_user(workspace.user);
  request.set_uid(kWorkspaceUid);
  *request.mutable_resources() = ToProto(workspace.resources);
  request.set_idle_timeout_seconds(state.options().workspace_idle_timeout_seconds);
  for (const SchemaRecord& schema : schemas) {
    kura::v1::MountSchema* mount = request.add_schemas();
    mount->set_name(schema.name);
    mount->set_host_path(schema.path);
    mount->set_manifest_sha256(schema.manifest_sha256);
  }
  KURA_ASSIGN_OR_RETURN(auto stub, state.NodeStub(workspace.node));
  grpc::ClientContext context;
  SetDeadline(context, kNodeOpenDeadline);
  kura::v1::Workspace reply;
  return FromNodeStatus(workspace.node, stub->OpenWorkspace(&context, request, &reply));
}

}  // namespace

grpc::Status ResearcherService::OpenWorkspace(grpc::ServerContext* context,
                                              const kura::v1::OpenWorkspaceRequest* request,
                                              kura::v1::Workspace* response) {
  return ToGrpcStatus("OpenWorkspace", DoOpenWorkspace(*context, *request, *response));
}

absl::Status ResearcherService::DoOpenWorkspace(const grpc::ServerContext& context,
                                                const kura::v1::OpenWorkspaceRequest& request,
                                                kura::v1::Workspace& response) {
  KURA_ASSIGN_OR_RETURN(Caller caller, Authenticate(context));
  if (request.project().empty()) return absl::InvalidArgumentError("name a project");
  const std::string subject = absl::StrCat("project:", request.project());
  absl::Status member = RequireProjectMember(state_.store(), caller.session.user, request.project());
  if (!member.ok()) return Refuse(caller, "workspace.open", subject, member);
  std::vector<std::string> requested(request.schemas().begin(), request.schemas().end());
  absl::StatusOr<std::vector<SchemaRecord>> schemas = SchemasForNewWorkspace(
      state_.store(), request.project(), caller.terminal, requested, state_.Now());
  if (!schemas.ok()) return Refuse(caller, "workspace.open", subject, schemas.status());
  KURA_ASSIGN_OR_RETURN(Resources ask, RequestedResources(request.resources()));
  const absl::Duration healthy_within =
      state_.options().heartbeat_interval * state_.options().missed_heartbeats_tolerated;
  absl::StatusOr<Placement> placement =
      PlaceNewWorkspace(state_.store(), ask, state_.Now(), healthy_within);
  if (!placement.ok()) return Refuse(caller, "workspace.open", subject, placement.status());

  KURA_ASSIGN_OR_RETURN(WorkspaceRecord workspace,
                        NewWorkspaceRecord(caller.session.user, request.project(), *placement,
                                           state_.Now()));
  KURA_RETURN_IF_ERROR(state_.store().CreateWorkspace(workspace));
  std::vector<std::string> names;
  for (const SchemaRecord& schema : *schemas) names.push_back(schema.name);
  const std::string details = JsonObject({{"workspace", workspace.id},
                                          {"node", workspace.node},
                                          {"schemas", absl::StrJoin(names, ",")},
                                          {"terminal", caller.terminal.id}});
  absl::Status opened = OpenOnNode(state_, workspace, *schemas);
  workspace.state = opened.ok() ? WorkspaceState::kRunning : WorkspaceState::kFailed;
  KURA_RETURN_IF_ERROR(state_.store().SetWorkspaceState(workspace.id, workspace.state, state_.Now()));
  state_.Audit({caller.actor, "workspace.open", subject, opened.ok() ? "ok" : "failed", details});
  KURA_RETURN_IF_ERROR(opened);
  for (const SchemaRecord& schema : *schemas) {
    state_.Audit({caller.actor, "mount", absl::StrCat("schema:", schema.name), "ok",
                  JsonObject({{"workspace", workspace.id},
                              {"data_class", std::string(DataClassName(schema.data_class))},
                              {"manifest_sha256", schema.manifest_sha256}})});
  }
  response = WorkspaceToProto(workspace, *schemas);
  return absl::OkStatus();
}

grpc::Status ResearcherService::ListWorkspaces(grpc::ServerContext* context,
                                               const kura::v1::ListWorkspacesRequest* request,
                                               kura::v1::ListWorkspacesResponse* response) {
  absl::Status status = [&]() -> absl::Status {
    KURA_ASSIGN_OR_RETURN(Caller caller, Authenticate(*context));
    KURA_ASSIGN_OR_RETURN(std::vector<WorkspaceRecord> all,
                          state_.store().ListWorkspaces(std::nullopt));
    for (const WorkspaceRecord& workspace : all) {
      if (workspace.user != caller.session.user || !WorkspaceIsLive(workspace)) continue;
      if (!request->project().empty() && workspace.project != request->project()) continue;
      KURA_ASSIGN_OR_RETURN(std::vector<SchemaRecord> schemas,
                            SchemasGrantedNow(state_.store(), workspace.project, state_.Now()));
      *response->add_workspaces() = WorkspaceToProto(workspace, schemas);
    }
    return absl::OkStatus();
  }();
  return ToGrpcStatus("ListWorkspaces", status);
}

void ResearcherService::CloseOnNode(const WorkspaceRecord& workspace, absl::string_view reason) {
  CloseWorkspaceOnNode(state_, workspace, reason);
}

absl::StatusOr<WorkspaceRecord> ResearcherService::UsableWorkspace(const Caller& caller,
                                                                   absl::string_view id,
                                                                   absl::string_view action) {
  const std::string subject = absl::StrCat("workspace:", id);
  absl::StatusOr<WorkspaceRecord> workspace =
      OwnedWorkspace(state_.store(), id, caller.session.user);
  if (!workspace.ok()) return Refuse(caller, action, subject, workspace.status());
  if (!WorkspaceIsLive(*workspace)) {
    return absl::FailedPreconditionError(
        absl::StrCat("workspace ", id, " is ", WorkspaceStateName(workspace->state),
                     "; open a new one"));
  }
  // Membership is checked at every use, not only at open: someone taken off the project
  // loses their running workspaces too.
  absl::Status member = RequireProjectMember(state_.store(), caller.session.user, workspace->project);
  if (!member.ok()) {
    CloseOnNode(*workspace, "its user is no longer a member of the project");
    return Refuse(caller, action, subject, member);
  }
  KURA_ASSIGN_OR_RETURN(std::vector<GrantRecord> ended,
                        EndedGrants(state_.store(), *workspace, state_.Now()));
  if (!ended.empty()) {
    std::vector<std::string> names;
    for (const GrantRecord& grant : ended) names.push_back(grant.schema);
    const std::string reason = absl::StrCat("the data permit for ", absl::StrJoin(names, ", "),
                                            " ended at ",
                                            absl::FormatTime(ended.front().valid_to));
    CloseOnNode(*workspace, reason);
    state_.Audit({caller.actor, "workspace.close", subject, "ok",
                  JsonObject({{"reason", reason}})});
    return Refuse(caller, action, subject,
                  absl::PermissionDeniedError(
                      absl::StrCat(reason, "; workspace ", id, " has been closed")));
  }
  return workspace;
}

grpc::Status ResearcherService::CloseWorkspace(grpc::ServerContext* context,
                                               const kura::v1::CloseWorkspaceRequest* request,
                                               kura::v1::CloseWorkspaceResponse*) {
  absl::Status status = [&]() -> absl::Status {
    KURA_ASSIGN_OR_RETURN(Caller caller, Authenticate(*context));
    const std::string subject = absl::StrCat("workspace:", request->workspace_id());
    absl::StatusOr<WorkspaceRecord> workspace =
        OwnedWorkspace(state_.store(), request->workspace_id(), caller.session.user);
    if (!workspace.ok()) return Refuse(caller, "workspace.close", subject, workspace.status());
    if (!WorkspaceIsLive(*workspace)) return absl::OkStatus();
    CloseOnNode(*workspace, "closed by its user");
    state_.Audit({caller.actor, "workspace.close", subject, "ok",
                  JsonObject({{"reason", "closed by its user"}})});
    return absl::OkStatus();
  }();
  return ToGrpcStatus("CloseWorkspace", status);
}

grpc::Status ResearcherService::ListOutputs(grpc::ServerContext* context,
                                            const kura::v1::ListOutputsRequest* request,
                                            kura::v1::ListOutputsResponse* response) {
  absl::Status status = [&]() -> absl::Status {
    KURA_ASSIGN_OR_RETURN(Caller caller, Authenticate(*context));
    KURA_ASSIGN_OR_RETURN(WorkspaceRecord workspace,
                          UsableWorkspace(caller, request->workspace_id(), "outputs.list"));
    KURA_ASSIGN_OR_RETURN(auto stub, state_.NodeStub(workspace.node));
    grpc::ClientContext node_context;
    SetDeadline(node_context, kNodeCallDeadline);
    kura::v1::NodeListOutputsRequest node_request;
    node_request.set_workspace_id(workspace.id);
    kura::v1::NodeListOutputsResponse reply;
    KURA_RETURN_IF_ERROR(FromNodeStatus(
        workspace.node, stub->ListOutputs(&node_context, node_request, &reply)));
    for (kura::v1::OutputFile& file : *reply.mutable_files()) {
      *response->add_files() = std::move(file);
    }
    return absl::OkStatus();
  }();
  return ToGrpcStatus("ListOutputs", status);
}

}  // namespace kura::gateway
