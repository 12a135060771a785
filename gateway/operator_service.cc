#include "gateway/operator_service.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "gateway/call_identity.h"
#include "gateway/grpc_edge.h"
#include "gateway/policy.h"
#include "gateway/workspace_access.h"
#include "gateway/workspace_closing.h"

namespace kura::gateway {

absl::StatusOr<std::string> OperatorService::AuthenticateOperator(
    const grpc::ServerContext& context, absl::string_view action) {
  KURA_ASSIGN_OR_RETURN(PeerIdentity terminal,
                        AuthenticatePeer(state_, context, PeerRole::kTerminal));
  KURA_ASSIGN_OR_RETURN(SessionRecord session, AuthenticateSession(state_, context, terminal));
  KURA_ASSIGN_OR_RETURN(UserRecord user, state_.store().GetUser(session.user));
  absl::Status allowed = CheckOperator(user, action);
  if (!allowed.ok()) {
    state_.Audit({Actor("user", user.name), std::string(action), "nodes", "denied",
                  JsonObject({{"reason", std::string(allowed.message())},
                              {"terminal", terminal.id}})});
    return allowed;
  }
  return Actor("operator", user.name);
}

grpc::Status OperatorService::ListNodes(grpc::ServerContext* context,
                                        const kura::v1::ListNodesRequest*,
                                        kura::v1::ListNodesResponse* response) {
  absl::Status status = [&]() -> absl::Status {
    KURA_RETURN_IF_ERROR(AuthenticateOperator(*context, "nodes.list").status());
    KURA_ASSIGN_OR_RETURN(std::vector<NodeRecord> nodes, state_.store().ListNodes());
    KURA_ASSIGN_OR_RETURN(std::vector<WorkspaceRecord> workspaces,
                          state_.store().ListWorkspaces(std::nullopt));
    const absl::Duration healthy_within =
        state_.options().heartbeat_interval * state_.options().missed_heartbeats_tolerated;
    for (const NodeRecord& node : nodes) {
      kura::v1::NodeStatus* out = response->add_nodes();
      out->set_id(node.id);
      out->set_address(node.address);
      *out->mutable_capacity() = ToProto(node.capacity);
      out->set_cordoned(node.cordoned);
      out->set_healthy(node.last_heartbeat.has_value() &&
                       state_.Now() - *node.last_heartbeat <= healthy_within);
      if (node.last_heartbeat.has_value()) {
        out->set_last_heartbeat_unix(absl::ToUnixSeconds(*node.last_heartbeat));
      }
      Resources allocated;
      for (const WorkspaceRecord& workspace : workspaces) {
        if (workspace.node != node.id || !WorkspaceIsLive(workspace)) continue;
        allocated.millicpus += workspace.resources.millicpus;
        allocated.memory_bytes += workspace.resources.memory_bytes;
        allocated.devices.insert(allocated.devices.end(), workspace.resources.devices.begin(),
                                 workspace.resources.devices.end());
        out->add_workspace_ids(workspace.id);
      }
      *out->mutable_allocated() = ToProto(allocated);
    }
    return absl::OkStatus();
  }();
  return ToGrpcStatus("ListNodes", status);
}

grpc::Status OperatorService::CordonNode(grpc::ServerContext* context,
                                         const kura::v1::CordonNodeRequest* request,
                                         kura::v1::CordonNodeResponse*) {
  absl::Status status = [&]() -> absl::Status {
    const char* action = request->cordoned() ? "node.cordon" : "node.uncordon";
    KURA_ASSIGN_OR_RETURN(std::string actor, AuthenticateOperator(*context, action));
    KURA_RETURN_IF_ERROR(state_.store().SetNodeCordoned(request->node(), request->cordoned()));
    state_.Audit({actor, action, Actor("node", request->node()), "ok", "{}"});
    return absl::OkStatus();
  }();
  return ToGrpcStatus("CordonNode", status);
}

grpc::Status OperatorService::DrainNode(grpc::ServerContext* context,
                                        const kura::v1::DrainNodeRequest* request,
                                        kura::v1::DrainNodeResponse* response) {
  absl::Status status = [&]() -> absl::Status {
    KURA_ASSIGN_OR_RETURN(std::string actor, AuthenticateOperator(*context, "node.drain"));
    KURA_RETURN_IF_ERROR(state_.store().SetNodeCordoned(request->node(), true));
    KURA_ASSIGN_OR_RETURN(std::vector<WorkspaceRecord> workspaces,
                          state_.store().ListWorkspaces(request->node()));
    for (const WorkspaceRecord& workspace : workspaces) {
      if (!WorkspaceIsLive(workspace)) continue;
      CloseWorkspaceOnNode(state_, workspace, "the node is being drained by an operator");
      state_.Audit({actor, "workspace.close", absl::StrCat("workspace:", workspace.id), "ok",
                    JsonObject({{"reason", "node drained"}, {"node", request->node()}})});
      response->add_closed_workspace_ids(workspace.id);
    }
    state_.Audit({actor, "node.drain", Actor("node", request->node()), "ok",
                  JsonObject({{"closed", absl::StrCat(response->closed_workspace_ids_size())}})});
    return absl::OkStatus();
  }();
  return ToGrpcStatus("DrainNode", status);
}

}  // namespace kura::gateway
