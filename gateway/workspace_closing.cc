#include "gateway/workspace_closing.h"

#include <grpcpp/client_context.h>

#include <string>

#include "common/logging.h"
#include "common/status.h"
#include "gateway/grpc_edge.h"

namespace kura::gateway {
namespace {

constexpr absl::Duration kNodeCallDeadline = absl::Seconds(15);

void SetDeadline(grpc::ClientContext& context, absl::Duration timeout) {
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
}

}  // namespace

void CloseWorkspaceOnNode(GatewayState& state, const WorkspaceRecord& workspace,
                          absl::string_view reason) {
  absl::Status closed = [&]() -> absl::Status {
    KURA_ASSIGN_OR_RETURN(auto stub, state.NodeStub(workspace.node));
    grpc::ClientContext node_context;
    SetDeadline(node_context, kNodeCallDeadline);
    kura::v1::NodeCloseWorkspaceRequest request;
    request.set_workspace_id(workspace.id);
    request.set_reason(std::string(reason));
    kura::v1::NodeCloseWorkspaceResponse reply;
    return FromNodeStatus(workspace.node, stub->CloseWorkspace(&node_context, request, &reply));
  }();
  // A node that could not be told keeps the workspace in "closing"; its next heartbeat is
  // answered with the id to close.
  const WorkspaceState next =
      closed.ok() || absl::IsNotFound(closed) ? WorkspaceState::kClosed : WorkspaceState::kClosing;
  if (!closed.ok()) {
    KURA_LOG(Warning) << "closing " << workspace.id << ": " << closed;
  }
  absl::Status stored = state.store().SetWorkspaceState(workspace.id, next, state.Now());
  if (!stored.ok()) {
    KURA_LOG(Error) << "closing " << workspace.id << ": " << stored;
  }
}

}  // namespace kura::gateway
