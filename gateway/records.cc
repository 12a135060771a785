#include "gateway/records.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace kura::gateway {

absl::string_view RoleName(Role role) {
  switch (role) {
    case Role::kResearcher:
      return "researcher";
    case Role::kReviewer:
      return "reviewer";
    case Role::kOperator:
      return "operator";
  }
  return "unknown";
}

absl::StatusOr<Role> ParseRole(absl::string_view text) {
  for (Role role : {Role::kResearcher, Role::kReviewer, Role::kOperator}) {
    if (text == RoleName(role)) return role;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("role must be researcher, reviewer or operator, not '", text, "'"));
}

bool UserRecord::HasRole(Role role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

absl::string_view DataClassName(DataClass data_class) {
  return data_class == DataClass::kPseudonymized ? "pseudonymized" : "anonymized";
}

absl::StatusOr<DataClass> ParseDataClass(absl::string_view text) {
  if (text == "anonymized") return DataClass::kAnonymized;
  if (text == "pseudonymized") return DataClass::kPseudonymized;
  return absl::InvalidArgumentError(
      absl::StrCat("data class must be anonymized or pseudonymized, not '", text, "'"));
}

absl::string_view WorkspaceStateName(WorkspaceState state) {
  switch (state) {
    case WorkspaceState::kPending:
      return "pending";
    case WorkspaceState::kRunning:
      return "running";
    case WorkspaceState::kClosing:
      return "closing";
    case WorkspaceState::kClosed:
      return "closed";
    case WorkspaceState::kFailed:
      return "failed";
  }
  return "unknown";
}

absl::StatusOr<WorkspaceState> ParseWorkspaceState(absl::string_view text) {
  for (WorkspaceState state :
       {WorkspaceState::kPending, WorkspaceState::kRunning, WorkspaceState::kClosing,
        WorkspaceState::kClosed, WorkspaceState::kFailed}) {
    if (text == WorkspaceStateName(state)) return state;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown workspace state '", text, "'"));
}

}  // namespace kura::gateway
