#pragma once

// Closing a workspace on its node, shared by the researcher's CloseWorkspace, the checks that
// end a workspace whose grant or membership ended, and operators draining a node.
// Thread-safe.

#include "absl/strings/string_view.h"
#include "gateway/gateway_state.h"
#include "gateway/records.h"

namespace kura::gateway {

// Tells the node to close `workspace` (saying `reason`) and records it closed. A node that
// cannot be reached leaves the workspace "closing": its next heartbeat is answered with the id.
// Best effort: failures are logged, never returned.
void CloseWorkspaceOnNode(GatewayState& state, const WorkspaceRecord& workspace,
                          absl::string_view reason);

}  // namespace kura::gateway
