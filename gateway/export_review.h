#pragma once

// The rules of export review (docs/export.md), as pure functions over the records: who may
// vote, what a vote must carry, when the votes decide a request, and what a reviewer may see.
// The gateway's export service fetches the records and enforces these. Thread-compatible.

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/records.h"

namespace kura::gateway {

// Reviewers a request needs: 2 when any of its schemas is pseudonymized, 1 otherwise.
int RequiredReviewers(const std::vector<DataClass>& schema_classes);

// Each file's verdict in the checker's report ("pass", "review", "fail"), by path.
// InvalidArgument for a report that is not the checker's JSON.
absl::StatusOr<std::map<std::string, std::string>> FileVerdicts(const std::string& report_json);

// OK when `voter` may vote on `request`: not its author (PermissionDenied "the author ..."),
// holding the reviewer role and a member of the request's project (PermissionDenied "not a
// reviewer of project ..."), and the request awaiting review (FailedPrecondition naming its
// state).
absl::Status CheckMayVote(const ExportRecord& request, const UserRecord& voter,
                          bool member_of_project);

// OK when `vote` fits `request`: the file is one of the request's (InvalidArgument), the
// version is the latest (FailedPrecondition: the files changed, vote again), and approving a
// file the checker failed carries an override reason (FailedPrecondition saying so).
absl::Status CheckVote(const ExportRecord& request,
                       const std::map<std::string, std::string>& file_verdicts,
                       const ExportVoteRecord& vote);

// Whether `reviewer` has voted on every file of the version the votes are for.
bool HasVotedOnEveryFile(const std::vector<ExportVoteRecord>& votes, const std::string& reviewer,
                         const std::vector<std::string>& files);

// The state `votes` put a request needing `required` reviewers in: in_review until `required`
// reviewers have each voted on every file; then approved when all their votes approve,
// rejected when any rejects, changes_requested otherwise (the strictest decision wins;
// disagreement is left to a consolidation step outside this rule).
ExportState Tally(const std::vector<ExportVoteRecord>& votes,
                  const std::vector<std::string>& files, int required);

// The votes `viewer` may see (blinding): none of another reviewer's until `viewer` has voted
// on every file; all once they have, or once the request is decided.
std::vector<ExportVoteRecord> VisibleVotes(const std::vector<ExportVoteRecord>& votes,
                                           const std::string& viewer,
                                           const std::vector<std::string>& files,
                                           ExportState state);

// Whether the request is decided or withdrawn (no more votes or withdrawal).
bool IsFinal(ExportState state);

}  // namespace kura::gateway
