#include "gateway/export_review.h"

#include <algorithm>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace kura::gateway {

std::vector<ExportFileEntry> ExportFiles(const ExportRecord& request) {
  std::vector<ExportFileEntry> out;
  nlohmann::json files = nlohmann::json::parse(request.files_json, nullptr, false);
  if (!files.is_array()) return out;
  for (const nlohmann::json& f : files) {
    if (!f.is_object()) return {};
    out.push_back({f.value("path", ""), f.value("size", uint64_t{0}), f.value("sha256", "")});
  }
  return out;
}

std::vector<std::string> ExportFilePaths(const ExportRecord& request) {
  std::vector<std::string> out;
  for (ExportFileEntry& f : ExportFiles(request)) out.push_back(std::move(f.path));
  return out;
}

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
    if (!f.is_object() || !f.contains("path") || !f["path"].is_string() || !f.contains("verdict") ||
        !f["verdict"].is_string()) {
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
  if (request.state != ExportState::kChecked && request.state != ExportState::kInReview &&
      request.state != ExportState::kConsolidation) {
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

absl::Status CheckMayComment(const ExportRecord& request, const UserRecord& commenter,
                             bool member_of_project) {
  if (commenter.name != request.author &&
      (!commenter.HasRole(Role::kReviewer) || !member_of_project)) {
    return absl::PermissionDeniedError(
        absl::StrCat(commenter.name, " is neither the author nor a reviewer of project '",
                     request.project, "'"));
  }
  if (request.state == ExportState::kWithdrawn) {
    return absl::FailedPreconditionError(
        absl::StrCat("export request ", request.id, " is withdrawn"));
  }
  return absl::OkStatus();
}

std::vector<ExportVoteRecord> CurrentVotes(const std::vector<ExportVoteRecord>& votes) {
  std::map<std::pair<std::string, std::string>, size_t> latest;
  for (size_t i = 0; i < votes.size(); ++i) {
    auto [it, inserted] = latest.try_emplace({votes[i].reviewer, votes[i].file}, i);
    if (!inserted && votes[it->second].round < votes[i].round) it->second = i;
  }
  std::vector<size_t> kept;
  for (const auto& [key, index] : latest) kept.push_back(index);
  std::sort(kept.begin(), kept.end());
  std::vector<ExportVoteRecord> out;
  for (size_t i : kept) out.push_back(votes[i]);
  return out;
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

ExportState Tally(const std::vector<ExportVoteRecord>& votes, const std::vector<std::string>& files,
                  int required) {
  std::vector<ExportVoteRecord> current = CurrentVotes(votes);
  std::set<std::string> reviewers;
  for (const ExportVoteRecord& v : current) reviewers.insert(v.reviewer);
  std::set<std::string> complete;
  for (const std::string& r : reviewers) {
    if (HasVotedOnEveryFile(current, r, files)) complete.insert(r);
  }
  if (static_cast<int>(complete.size()) < required) return ExportState::kInReview;
  std::map<std::string, std::set<VoteDecision>> by_file;
  for (const ExportVoteRecord& v : current) {
    if (complete.count(v.reviewer)) by_file[v.file].insert(v.decision);
  }
  bool any_reject = false, all_approve = true;
  for (const auto& [file, decisions] : by_file) {
    if (decisions.size() > 1) return ExportState::kConsolidation;
    VoteDecision d = *decisions.begin();
    if (d == VoteDecision::kReject) any_reject = true;
    if (d != VoteDecision::kApprove) all_approve = false;
  }
  if (any_reject) return ExportState::kRejected;
  return all_approve ? ExportState::kApproved : ExportState::kChangesRequested;
}

bool SeesAllReviews(const std::vector<ExportVoteRecord>& votes, const std::string& viewer,
                    const std::vector<std::string>& files, ExportState state) {
  return IsFinal(state) || HasVotedOnEveryFile(votes, viewer, files);
}

std::vector<ExportVoteRecord> VisibleVotes(const std::vector<ExportVoteRecord>& votes,
                                           const std::string& viewer,
                                           const std::vector<std::string>& files,
                                           ExportState state) {
  bool sees_all = SeesAllReviews(votes, viewer, files, state);
  std::vector<ExportVoteRecord> out;
  for (const ExportVoteRecord& v : votes) {
    if (sees_all || v.reviewer == viewer) out.push_back(v);
  }
  return out;
}

std::vector<ExportCommentRecord> VisibleComments(const std::vector<ExportCommentRecord>& comments,
                                                 const std::vector<ExportVoteRecord>& votes,
                                                 const ExportRecord& request,
                                                 const std::string& viewer,
                                                 const std::vector<std::string>& files) {
  bool sees_all = SeesAllReviews(votes, viewer, files, request.state);
  std::vector<ExportCommentRecord> out;
  for (const ExportCommentRecord& c : comments) {
    if (sees_all || c.author == viewer || c.author == request.author) out.push_back(c);
  }
  return out;
}

}  // namespace kura::gateway
