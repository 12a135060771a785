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

absl::string_view ExportStateName(ExportState state) {
  switch (state) {
    case ExportState::kSubmitted:
      return "submitted";
    case ExportState::kChecked:
      return "checked";
    case ExportState::kInReview:
      return "in_review";
    case ExportState::kConsolidation:
      return "consolidation";
    case ExportState::kApproved:
      return "approved";
    case ExportState::kChangesRequested:
      return "changes_requested";
    case ExportState::kRejected:
      return "rejected";
    case ExportState::kWithdrawn:
      return "withdrawn";
  }
  return "unknown";
}

absl::StatusOr<ExportState> ParseExportState(absl::string_view text) {
  for (ExportState state :
       {ExportState::kSubmitted, ExportState::kChecked, ExportState::kInReview,
        ExportState::kConsolidation, ExportState::kApproved, ExportState::kChangesRequested, ExportState::kRejected,
        ExportState::kWithdrawn}) {
    if (text == ExportStateName(state)) return state;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown export state '", text, "'"));
}

absl::string_view VoteDecisionName(VoteDecision decision) {
  switch (decision) {
    case VoteDecision::kApprove:
      return "approve";
    case VoteDecision::kRequestChanges:
      return "request_changes";
    case VoteDecision::kReject:
      return "reject";
  }
  return "unknown";
}

absl::StatusOr<VoteDecision> ParseVoteDecision(absl::string_view text) {
  for (VoteDecision d :
       {VoteDecision::kApprove, VoteDecision::kRequestChanges, VoteDecision::kReject}) {
    if (text == VoteDecisionName(d)) return d;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown vote '", text, "' (approve, request_changes or reject)"));
}

}  // namespace kura::gateway
