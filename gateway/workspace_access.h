#pragma once

// The rules the researcher service applies to workspaces, over the store (the decisions are
// policy.h's and scheduler.h's pure functions; this file fetches what they need):
//   - a researcher acts only in projects they are a member of;
//   - a workspace mounts exactly the project's schemas whose grant is valid now (or the subset
//     asked for, each of which must be granted now);
//   - a pseudonymized schema only from a dedicated terminal;
//   - a workspace is visible only to the user who opened it (anyone else gets NotFound, the
//     same answer as for an id that does not exist, so ids leak nothing);
//   - a workspace whose grants ended is closed (EndedGrants says which ended).
// Placement: a registered, healthy (recent heartbeat), uncordoned node with room.
// Thread-safe (the store is).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/pki.h"
#include "gateway/records.h"
#include "gateway/scheduler.h"
#include "gateway/store.h"

namespace kura::gateway {

// PermissionDenied ("you are not a member of project 'p'") unless `user` is a member.
absl::Status RequireProjectMember(Store& store, absl::string_view user,
                                  absl::string_view project);

// Schemas whose grant to `project` is valid at `now`, each once.
absl::StatusOr<std::vector<SchemaRecord>> SchemasGrantedNow(Store& store,
                                                             absl::string_view project,
                                                             absl::Time now);

// What a new workspace of `project` opened from `terminal` mounts. PermissionDenied with the
// reason when nothing is granted now, a requested schema is not granted now, or a
// pseudonymized schema would be mounted from a terminal that is not dedicated.
absl::StatusOr<std::vector<SchemaRecord>> SchemasForNewWorkspace(
    Store& store, absl::string_view project, const PeerIdentity& terminal,
    const std::vector<std::string>& requested, absl::Time now);

// The workspace `id` if `user` opened it; NotFound otherwise.
absl::StatusOr<WorkspaceRecord> OwnedWorkspace(Store& store, absl::string_view id,
                                               absl::string_view user);

// Grants the workspace relied on when it was opened (valid at its creation) that have ended
// by `now`. Empty while every one is still valid.
absl::StatusOr<std::vector<GrantRecord>> EndedGrants(Store& store,
                                                     const WorkspaceRecord& workspace,
                                                     absl::Time now);

// Where a workspace asking for `ask` goes (scheduler.h over the store's nodes and
// workspaces): a node whose heartbeat is within `healthy_within` of `now`, uncordoned, with
// room. ResourceExhausted saying why when none fits.
absl::StatusOr<Placement> PlaceNewWorkspace(Store& store, const Resources& ask, absl::Time now,
                                            absl::Duration healthy_within);

bool WorkspaceIsLive(const WorkspaceRecord& workspace);

}  // namespace kura::gateway
