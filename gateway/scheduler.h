#pragma once

// Placing a workspace on a node, as a pure function of the nodes, the workspaces already on
// them and the clock.
//
// A node qualifies when it is uncordoned, healthy (a heartbeat within heartbeat_timeout) and
// has room: free CPUs, memory and, for each device request, enough free devices of that kind
// (and model, when named). Among those the choice is deterministic: most free memory after
// placement, then most free CPUs, then the smallest node id. Devices are generic
// {kind, model, id} so GPUs and NPUs need no change here. Thread-safe.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/records.h"

namespace kura::gateway {

struct DeviceRequest {
  std::string kind;   // "gpu", "npu"
  std::string model;  // empty: any model
  int count = 1;
};

struct PlacementRequest {
  int64_t millicpus = 0;
  int64_t memory_bytes = 0;
  std::vector<DeviceRequest> devices;
};

struct SchedulerPolicy {
  absl::Duration heartbeat_timeout = absl::Seconds(15);
};

struct Placement {
  std::string node;
  Resources resources;  // what the workspace will hold, with the chosen device ids
};

// True when `workspace` holds resources on its node (pending, running or closing).
bool HoldsResources(const WorkspaceRecord& workspace);

// InvalidArgument for a request of no CPU or memory or a bad device count; ResourceExhausted
// listing, per node, why it could not take the workspace.
absl::StatusOr<Placement> PlaceWorkspace(const std::vector<NodeRecord>& nodes,
                                         const std::vector<WorkspaceRecord>& workspaces,
                                         const PlacementRequest& request, absl::Time now,
                                         const SchedulerPolicy& policy = {});

}  // namespace kura::gateway
