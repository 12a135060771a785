#include "gateway/workspace_access.h"

#include <algorithm>
#include <map>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"
#include "gateway/policy.h"

namespace kura::gateway {

bool WorkspaceIsLive(const WorkspaceRecord& workspace) {
  return workspace.state == WorkspaceState::kPending ||
         workspace.state == WorkspaceState::kRunning;
}

absl::Status RequireProjectMember(Store& store, absl::string_view user,
                                  absl::string_view project) {
  KURA_ASSIGN_OR_RETURN(UserRecord record, store.GetUser(user));
  absl::StatusOr<std::vector<std::string>> members = store.ListProjectMembers(project);
  // An unknown project reads like one the caller is not in: names of others' projects leak
  // nothing either.
  if (absl::IsNotFound(members.status())) members = std::vector<std::string>();
  KURA_RETURN_IF_ERROR(members.status());
  return CheckProjectMember(record, project, *members);
}

absl::StatusOr<std::vector<SchemaRecord>> SchemasGrantedNow(Store& store,
                                                             absl::string_view project,
                                                             absl::Time now) {
  KURA_ASSIGN_OR_RETURN(std::vector<GrantRecord> grants, store.ListGrants(project));
  std::vector<SchemaRecord> schemas;
  absl::flat_hash_set<std::string> seen;
  for (const GrantRecord& grant : grants) {
    if (!GrantValidAt(grant, now) || !seen.insert(grant.schema).second) continue;
    KURA_ASSIGN_OR_RETURN(SchemaRecord schema, store.GetSchema(grant.schema));
    schemas.push_back(std::move(schema));
  }
  std::sort(schemas.begin(), schemas.end(),
            [](const SchemaRecord& a, const SchemaRecord& b) { return a.name < b.name; });
  return schemas;
}

absl::StatusOr<std::vector<SchemaRecord>> SchemasForNewWorkspace(
    Store& store, absl::string_view project, const PeerIdentity& terminal,
    const std::vector<std::string>& requested, absl::Time now) {
  KURA_ASSIGN_OR_RETURN(std::vector<GrantRecord> grants, store.ListGrants(project));
  KURA_ASSIGN_OR_RETURN(std::vector<SchemaRecord> schemas, store.ListSchemas());
  if (!requested.empty()) {
    std::vector<SchemaRecord> chosen;
    for (const std::string& name : requested) {
      KURA_RETURN_IF_ERROR(
          CheckSchemaAccess(project, name, grants, schemas, terminal.terminal_class, now));
      auto it = std::find_if(schemas.begin(), schemas.end(),
                             [&](const SchemaRecord& s) { return s.name == name; });
      chosen.push_back(*it);
    }
    return chosen;
  }
  MountPlan plan = PlanWorkspaceMounts(project, grants, schemas, terminal.terminal_class, now);
  if (!plan.withheld.empty()) {
    // Explicit rather than silently mounting less than the project has.
    return absl::PermissionDeniedError(
        absl::StrCat(absl::StrJoin(plan.withheld, " "),
                     plan.mounts.empty() ? ""
                                         : " Name the schemas to mount to use only the others."));
  }
  if (plan.mounts.empty()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "project '", project,
        "' has no schema granted at this time (its data permit may have ended or not begun)"));
  }
  return plan.mounts;
}

absl::StatusOr<WorkspaceRecord> OwnedWorkspace(Store& store, absl::string_view id,
                                               absl::string_view user) {
  absl::StatusOr<WorkspaceRecord> workspace = store.GetWorkspace(id);
  if (absl::IsNotFound(workspace.status()) || (workspace.ok() && workspace->user != user)) {
    return absl::NotFoundError(absl::StrCat("you have no workspace '", id, "'"));
  }
  return workspace;
}

absl::StatusOr<std::vector<GrantRecord>> EndedGrants(Store& store,
                                                     const WorkspaceRecord& workspace,
                                                     absl::Time now) {
  KURA_ASSIGN_OR_RETURN(std::vector<GrantRecord> grants, store.ListGrants(workspace.project));
  // The schemas it mounted are those granted when it was opened; any of them no longer
  // covered by a grant now closes it.
  std::vector<std::string> mounted;
  for (const GrantRecord& grant : grants) {
    if (GrantValidAt(grant, workspace.created)) mounted.push_back(grant.schema);
  }
  std::vector<std::string> lost = SchemasNoLongerGranted(mounted, grants, now);
  std::vector<GrantRecord> ended;
  for (const GrantRecord& grant : grants) {
    if (GrantValidAt(grant, workspace.created) &&
        std::find(lost.begin(), lost.end(), grant.schema) != lost.end()) {
      ended.push_back(grant);
    }
  }
  return ended;
}

absl::StatusOr<Placement> PlaceNewWorkspace(Store& store, const Resources& ask, absl::Time now,
                                            absl::Duration healthy_within) {
  KURA_ASSIGN_OR_RETURN(std::vector<NodeRecord> nodes, store.ListNodes());
  KURA_ASSIGN_OR_RETURN(std::vector<WorkspaceRecord> workspaces,
                        store.ListWorkspaces(std::nullopt));
  PlacementRequest request;
  request.millicpus = ask.millicpus;
  request.memory_bytes = ask.memory_bytes;
  std::map<std::string, int> kinds;
  for (const Device& device : ask.devices) ++kinds[device.kind];
  for (const auto& [kind, count] : kinds) request.devices.push_back({kind, "", count});
  absl::StatusOr<Placement> placement = PlaceWorkspace(
      nodes, workspaces, request, now, SchedulerPolicy{.heartbeat_timeout = healthy_within});
  if (absl::IsResourceExhausted(placement.status())) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "no analysis node can take this workspace now (", placement.status().message(), ")"));
  }
  return placement;
}

}  // namespace kura::gateway
