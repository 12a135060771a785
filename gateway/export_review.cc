#include "gateway/export_review.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace kura::gateway {

int RequiredReviewers(const std::vector<DataClass>& schema_classes) {
  for (DataClass c : schema_classes) {
    if (c == DataClass::kPseudonymized) return 2;
  }
  return 1;
}

absl::StatusOr<std::map<std::string, std::string>> FileVerdicts(const std::string& report_json) {
  nlohmann::json report = nlohmann::json::parse(report_json, nullptr, /*allow_exceptions=*/false);
  if (!report.is_object() || !report.contains("files") || !report["files"].is_array()) {
    return absl::InvalidArgumentError("the checker's report has no files");
  }
  std::map<std::string, std::string> out;
  for (const nlohmann::json& f : report["files"]) {
    if (!f.is_object() || !f.contains("path") || !f["path"].is_string() ||
        !f.contains("verdict") || !f["verdict"].is_string()) {
      return absl::InvalidArgumentError("a file of the checker's report lacks path or verdict");
    }
    out[f["path"].get<std::string>()] = f["verdict"].get<std::string>();
  }
  return out;
}

bool IsFinal(ExportState state) {
  return state == ExportState::kApproved || state == ExportState::kChangesRequested ||
         state == ExportState::kRejected || state == ExportState::kWithdrawn;
}

absl::Status CheckMayVote(const ExportRecord& request, const UserRecord& voter,
                          bool member_of_project) {
  if (voter.name == request.author) {
    return absl::PermissionDeniedError("the author of an export request cannot review it");
  }
  if (!voter.HasRole(Role::kReviewer) || !member_of_project) {
    return absl::PermissionDeniedError(
        absl::StrCat(voter.name, " is not a reviewer of project '", request.project, "'"));
  }
  if (request.state != ExportState::kChecked && request.state != ExportState::kInReview) {
    return absl::FailedPreconditionError(absl::StrCat("export request ", request.id, " is ",
                                                      ExportStateName(request.state),
                                                      ", not awaiting review"));
  }
  return absl::OkStatus();
}

absl::Status CheckVote(const ExportRecord& request,
                       const std::map<std::string, std::string>& file_verdicts,
                       const ExportVoteRecord& vote) {
  if (vote.version != request.version) {
    return absl::FailedPreconditionError(
        absl::StrCat("export request ", request.id, " is at version ", request.version,
                     " now (its files changed); review that version"));
  }
  auto it = file_verdicts.find(vote.file);
  if (it == file_verdicts.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", vote.file, "' is not a file of export request ", request.id));
  }
  if (vote.decision == VoteDecision::kApprove && it->second == "fail" &&
      vote.override_reason.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the checker failed '", vote.file,
                     "': approving it needs an explicit override with a written reason"));
  }
  return absl::OkStatus();
}

bool HasVotedOnEveryFile(const std::vector<ExportVoteRecord>& votes, const std::string& reviewer,
                         const std::vector<std::string>& files) {
  std::set<std::string> voted;
  for (const ExportVoteRecord& v : votes) {
    if (v.reviewer == reviewer) voted.insert(v.file);
  }
  for (const std::string& f : files) {
    if (!voted.count(f)) return false;
  }
  return !files.empty();
}

ExportState Tally(const std::vector<ExportVoteRecord>& votes,
                  const std::vector<std::string>& files, int required) {
  std::set<std::string> reviewers;
  for (const ExportVoteRecord& v : votes) reviewers.insert(v.reviewer);
  std::set<std::string> complete;
  for (const std::string& r : reviewers) {
    if (HasVotedOnEveryFile(votes, r, files)) complete.insert(r);
  }
  if (static_cast<int>(complete.size()) < required) return ExportState::kInReview;
  bool any_reject = false, all_approve = true;
  for (const ExportVoteRecord& v : votes) {
    if (!complete.count(v.reviewer)) continue;
    if (v.decision == VoteDecision::kReject) any_reject = true;
    if (v.decision != VoteDecision::kApprove) all_approve = false;
  }
  if (any_reject) return ExportState::kRejected;
  return all_approve ? ExportState::kApproved : ExportState::kChangesRequested;
}

std::vector<ExportVoteRecord> VisibleVotes(const std::vector<ExportVoteRecord>& votes,
                                           const std::string& viewer,
                                           const std::vector<std::string>& files,
                                           ExportState state) {
  bool sees_all = IsFinal(state) || HasVotedOnEveryFile(votes, viewer, files);
  std::vector<ExportVoteRecord> out;
  for (const ExportVoteRecord& v : votes) {
    if (sees_all || v.reviewer == viewer) out.push_back(v);
  }
  return out;
}

}  // namespace kura::gateway
