#include "gateway/scheduler.h"

#include <algorithm>
#include <optional>
#include <tuple>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace kura::gateway {
namespace {

std::string Cpus(int64_t millicpus) {
  if (millicpus % 1000 == 0) return absl::StrCat(millicpus / 1000);
  return absl::StrCat(millicpus / 1000, ".", absl::StrFormat("%03d", millicpus % 1000));
}

std::string Memory(int64_t bytes) { return absl::StrCat(bytes / (int64_t{1} << 20), " MiB"); }

// What is left on `node` after the workspaces holding resources there.
Resources FreeOn(const NodeRecord& node, const std::vector<WorkspaceRecord>& workspaces) {
  Resources free = node.capacity;
  absl::flat_hash_set<std::string> taken;
  for (const WorkspaceRecord& w : workspaces) {
    if (w.node != node.id || !HoldsResources(w)) continue;
    free.millicpus -= w.resources.millicpus;
    free.memory_bytes -= w.resources.memory_bytes;
    for (const Device& d : w.resources.devices) taken.insert(d.id);
  }
  free.devices.erase(std::remove_if(free.devices.begin(), free.devices.end(),
                                    [&](const Device& d) { return taken.contains(d.id); }),
                     free.devices.end());
  return free;
}

// Picks devices for every request from `free`, or says which request cannot be met.
absl::StatusOr<std::vector<Device>> PickDevices(std::vector<Device> free,
                                                const std::vector<DeviceRequest>& requests) {
  std::sort(free.begin(), free.end(), [](const Device& a, const Device& b) { return a.id < b.id; });
  std::vector<Device> chosen;
  for (const DeviceRequest& request : requests) {
    int needed = request.count;
    for (auto it = free.begin(); it != free.end() && needed > 0;) {
      bool fits = it->kind == request.kind && (request.model.empty() || it->model == request.model);
      if (!fits) {
        ++it;
        continue;
      }
      chosen.push_back(*it);
      it = free.erase(it);
      --needed;
    }
    if (needed > 0) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "not enough free ", request.kind, request.model.empty() ? "" : " ", request.model));
    }
  }
  return chosen;
}

// Why `node` cannot take `request`, or the placement it would give.
absl::StatusOr<Placement> TryNode(const NodeRecord& node,
                                  const std::vector<WorkspaceRecord>& workspaces,
                                  const PlacementRequest& request, absl::Time now,
                                  const SchedulerPolicy& policy) {
  if (node.cordoned) return absl::UnavailableError("cordoned");
  if (!node.last_heartbeat.has_value()) return absl::UnavailableError("never sent a heartbeat");
  absl::Duration silence = now - *node.last_heartbeat;
  if (silence > policy.heartbeat_timeout) {
    return absl::UnavailableError(absl::StrCat("no heartbeat for ", absl::FormatDuration(silence)));
  }
  Resources free = FreeOn(node, workspaces);
  if (free.millicpus < request.millicpus) {
    return absl::ResourceExhaustedError(absl::StrCat(Cpus(free.millicpus), " CPUs free"));
  }
  if (free.memory_bytes < request.memory_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat(Memory(free.memory_bytes), " free"));
  }
  absl::StatusOr<std::vector<Device>> devices = PickDevices(free.devices, request.devices);
  if (!devices.ok()) return devices.status();
  Placement placement{node.id, {request.millicpus, request.memory_bytes, *std::move(devices)}};
  return placement;
}

}  // namespace

bool HoldsResources(const WorkspaceRecord& workspace) {
  return workspace.state == WorkspaceState::kPending ||
         workspace.state == WorkspaceState::kRunning || workspace.state == WorkspaceState::kClosing;
}

absl::StatusOr<Placement> PlaceWorkspace(const std::vector<NodeRecord>& nodes,
                                         const std::vector<WorkspaceRecord>& workspaces,
                                         const PlacementRequest& request, absl::Time now,
                                         const SchedulerPolicy& policy) {
  if (request.millicpus <= 0 || request.memory_bytes <= 0) {
    return absl::InvalidArgumentError("a workspace needs some CPU and some memory");
  }
  for (const DeviceRequest& d : request.devices) {
    if (d.count <= 0 || d.kind.empty()) {
      return absl::InvalidArgumentError("a device request needs a kind and a positive count");
    }
  }
  std::optional<Placement> best;
  std::tuple<int64_t, int64_t> best_key;  // free memory and CPUs left after placement
  std::vector<std::string> reasons;
  for (const NodeRecord& node : nodes) {
    absl::StatusOr<Placement> placement = TryNode(node, workspaces, request, now, policy);
    if (!placement.ok()) {
      reasons.push_back(absl::StrCat(node.id, ": ", placement.status().message()));
      continue;
    }
    Resources free = FreeOn(node, workspaces);
    std::tuple<int64_t, int64_t> key{free.memory_bytes - request.memory_bytes,
                                     free.millicpus - request.millicpus};
    // Ties go to the smallest id: compare ids only when the keys are equal.
    if (!best.has_value() || key > best_key || (key == best_key && node.id < best->node)) {
      best = *std::move(placement);
      best_key = key;
    }
  }
  if (best.has_value()) return *best;
  if (reasons.empty()) return absl::ResourceExhaustedError("no analysis node is registered");
  return absl::ResourceExhaustedError(absl::StrCat("no node can take ", Cpus(request.millicpus),
                                                   " CPUs and ", Memory(request.memory_bytes), ": ",
                                                   absl::StrJoin(reasons, "; ")));
}

}  // namespace kura::gateway
