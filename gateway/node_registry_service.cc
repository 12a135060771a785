#include "gateway/node_registry_service.h"

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"
#include "gateway/call_identity.h"
#include "gateway/grpc_edge.h"
#include "gateway/workspace_access.h"

namespace kura::gateway {

grpc::Status NodeRegistryService::Register(grpc::ServerContext* context,
                                           const kura::v1::RegisterNodeRequest* request,
                                           kura::v1::RegisterNodeResponse* response) {
  absl::Status status = [&]() -> absl::Status {
    KURA_ASSIGN_OR_RETURN(PeerIdentity peer,
                          AuthenticatePeer(state_, *context, PeerRole::kNode));
    if (request->address().empty()) {
      return absl::InvalidArgumentError("a node must say where it serves (host:port)");
    }
    NodeRecord node;
    node.id = peer.id;
    node.certificate_serial = peer.serial;
    node.address = request->address();
    node.capacity = FromProto(request->capacity());
    node.registered = state_.Now();
    KURA_RETURN_IF_ERROR(state_.store().UpsertNode(node));
    KURA_RETURN_IF_ERROR(state_.store().RecordHeartbeat(node.id, state_.Now()));
    state_.Audit({Actor("node", node.id), "node.register", Actor("node", node.id), "ok",
                  JsonObject({{"address", node.address},
                              {"millicpus", absl::StrCat(node.capacity.millicpus)},
                              {"memory_bytes", absl::StrCat(node.capacity.memory_bytes)},
                              {"version", request->version()}})});
    response->set_heartbeat_interval_seconds(
        absl::ToInt64Seconds(state_.options().heartbeat_interval));
    return absl::OkStatus();
  }();
  return ToGrpcStatus("Register", status);
}

grpc::Status NodeRegistryService::Heartbeat(grpc::ServerContext* context,
                                            const kura::v1::HeartbeatRequest* request,
                                            kura::v1::HeartbeatResponse* response) {
  return ToGrpcStatus("Heartbeat", DoHeartbeat(*context, *request, *response));
}

absl::Status NodeRegistryService::DoHeartbeat(const grpc::ServerContext& context,
                                              const kura::v1::HeartbeatRequest& request,
                                              kura::v1::HeartbeatResponse& response) {
  KURA_ASSIGN_OR_RETURN(PeerIdentity peer, AuthenticatePeer(state_, context, PeerRole::kNode));
  absl::StatusOr<NodeRecord> node = state_.store().GetNode(peer.id);
  if (absl::IsNotFound(node.status())) {
    return absl::FailedPreconditionError("register before sending heartbeats");
  }
  KURA_RETURN_IF_ERROR(node.status());
  const absl::Time now = state_.Now();
  KURA_RETURN_IF_ERROR(state_.store().RecordHeartbeat(peer.id, now));
  KURA_ASSIGN_OR_RETURN(std::vector<WorkspaceRecord> known,
                        state_.store().ListWorkspaces(peer.id));
  absl::flat_hash_map<std::string, const WorkspaceRecord*> by_id;
  for (const WorkspaceRecord& workspace : known) by_id[workspace.id] = &workspace;
  absl::flat_hash_set<std::string> reported(request.workspace_ids().begin(),
                                            request.workspace_ids().end());

  for (const std::string& id : reported) {
    auto it = by_id.find(id);
    if (it == by_id.end() || !WorkspaceIsLive(*it->second)) {
      response.add_close_workspace_ids(id);
      continue;
    }
    KURA_ASSIGN_OR_RETURN(std::vector<GrantRecord> ended,
                          EndedGrants(state_.store(), *it->second, now));
    if (ended.empty()) continue;
    std::vector<std::string> schemas;
    for (const GrantRecord& grant : ended) schemas.push_back(grant.schema);
    response.add_close_workspace_ids(id);
    KURA_RETURN_IF_ERROR(state_.store().SetWorkspaceState(id, WorkspaceState::kClosing, now));
    state_.Audit({"gateway", "workspace.close", absl::StrCat("workspace:", id), "ok",
                  JsonObject({{"reason", absl::StrCat("grant ended for ",
                                                      absl::StrJoin(schemas, ", "))},
                              {"node", peer.id}})});
  }
  // A workspace the gateway was closing and the node no longer runs is closed.
  for (const WorkspaceRecord& workspace : known) {
    if (workspace.state == WorkspaceState::kClosing && !reported.contains(workspace.id)) {
      KURA_RETURN_IF_ERROR(
          state_.store().SetWorkspaceState(workspace.id, WorkspaceState::kClosed, now));
    }
  }
  return absl::OkStatus();
}

}  // namespace kura::gateway
