#pragma once

// Who may do what, as pure functions over records the caller fetched from the store.
//
//   - a researcher acts only in projects they are a member of;
//   - a workspace mounts exactly the project's schemas whose grant is valid now
//     (valid_from <= now < valid_to), pseudonymized ones only from a dedicated terminal;
//   - when a grant expires, running workspaces that mount its schema are closed (not
//     remounted): SchemasNoLongerGranted tells the gateway which;
//   - operator actions need the operator role.
// Every refusal is PermissionDenied with a message that says why. Thread-safe.

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gateway/pki.h"
#include "gateway/records.h"

namespace kura::gateway {

// PermissionDenied unless `user` is in `members` (the project's member list).
absl::Status CheckProjectMember(const UserRecord& user, absl::string_view project,
                                const std::vector<std::string>& members);

// PermissionDenied unless `user` has `role`; `action` names what was attempted.
absl::Status CheckRole(const UserRecord& user, Role role, absl::string_view action);
inline absl::Status CheckOperator(const UserRecord& user, absl::string_view action) {
  return CheckRole(user, Role::kOperator, action);
}

// True when `grant` is in force at `now`.
bool GrantValidAt(const GrantRecord& grant, absl::Time now);

// What a workspace opened now from a terminal of `terminal_class` mounts, and why each
// granted-but-withheld schema is withheld.
struct MountPlan {
  std::vector<SchemaRecord> mounts;   // sorted by name, each once
  std::vector<std::string> withheld;  // one sentence per schema left out
};

// `grants` are the project's; `schemas` every registered schema (or at least the granted ones).
MountPlan PlanWorkspaceMounts(absl::string_view project, const std::vector<GrantRecord>& grants,
                              const std::vector<SchemaRecord>& schemas,
                              TerminalClass terminal_class, absl::Time now);

// OK when `project` may use `schema` now from a `terminal_class` terminal; PermissionDenied
// saying why not (no grant, grant not yet valid, expired, pseudonymized from a standard
// terminal), NotFound when the schema is not registered.
absl::Status CheckSchemaAccess(absl::string_view project, absl::string_view schema,
                               const std::vector<GrantRecord>& grants,
                               const std::vector<SchemaRecord>& schemas,
                               TerminalClass terminal_class, absl::Time now);

// The schemas among `mounted` that `grants` no longer cover at `now`: a running workspace
// with any is to be closed.
std::vector<std::string> SchemasNoLongerGranted(const std::vector<std::string>& mounted,
                                                const std::vector<GrantRecord>& grants,
                                                absl::Time now);

}  // namespace kura::gateway
