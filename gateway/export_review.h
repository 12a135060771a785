#pragma once

// The rules of export review (docs/export.md), as pure functions over the records: who may
// vote, what a vote must carry, when the votes decide a request, and what a reviewer may see.
// The gateway's export service fetches the records and enforces these. Thread-compatible.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gateway/records.h"

namespace kura::gateway {

// One file of an export request's version, as the node snapshotted it.
struct ExportFileEntry {
  std::string path;
  uint64_t size = 0;
  std::string sha256;
};

// The files of `request`'s version, in the order asked for (none for a malformed list).
std::vector<ExportFileEntry> ExportFiles(const ExportRecord& request);
// Their paths.
std::vector<std::string> ExportFilePaths(const ExportRecord& request);

// Reviewers a request needs: 2 when any of its schemas is pseudonymized, 1 otherwise.
int RequiredReviewers(const std::vector<DataClass>& schema_classes);

// Each file's verdict in the checker's report ("pass", "review", "fail"), by path.
// InvalidArgument for a report that is not the checker's JSON.
absl::StatusOr<std::map<std::string, std::string>> FileVerdicts(const std::string& report_json);

// OK when `voter` may vote on `request`: not its author (PermissionDenied "the author ..."),
// holding the reviewer role and a member of the request's project (PermissionDenied "not a
// reviewer of project ..."), and the request awaiting review or in consolidation
// (FailedPrecondition naming its state).
absl::Status CheckMayVote(const ExportRecord& request, const UserRecord& voter,
                          bool member_of_project);

// OK when `vote` fits `request`: the file is one of the request's (InvalidArgument), the
// version is the latest (FailedPrecondition: the files changed, vote again), and approving a
// file the checker failed carries an override reason (FailedPrecondition saying so).
absl::Status CheckVote(const ExportRecord& request,
                       const std::map<std::string, std::string>& file_verdicts,
                       const ExportVoteRecord& vote);

// OK when `commenter` may comment on `request`: its author, or a reviewer who is a member of
// its project (PermissionDenied otherwise); never on a withdrawn request (FailedPrecondition).
absl::Status CheckMayComment(const ExportRecord& request, const UserRecord& commenter,
                             bool member_of_project);

// The votes that count: each reviewer's latest round on each file, in the order cast.
std::vector<ExportVoteRecord> CurrentVotes(const std::vector<ExportVoteRecord>& votes);

// Whether `reviewer` has voted on every file of the version the votes are for.
bool HasVotedOnEveryFile(const std::vector<ExportVoteRecord>& votes, const std::string& reviewer,
                         const std::vector<std::string>& files);

// The state the current votes (CurrentVotes of `votes`) put a request needing `required`
// reviewers in: in_review until `required` reviewers have each voted on every file. Then, when
// those reviewers agree on every file: approved when every file is approved, rejected when any
// file is rejected, changes_requested otherwise. When they disagree on any file:
// consolidation, until their revised votes agree. Disagreement never releases anything.
ExportState Tally(const std::vector<ExportVoteRecord>& votes,
                  const std::vector<std::string>& files, int required);

// Whether `viewer` sees everyone's votes and comments on a version (blinding): once they have
// voted on every file, or once the version is decided or withdrawn.
bool SeesAllReviews(const std::vector<ExportVoteRecord>& votes, const std::string& viewer,
                    const std::vector<std::string>& files, ExportState state);

// The votes `viewer` may see: their own, and everyone's when SeesAllReviews.
std::vector<ExportVoteRecord> VisibleVotes(const std::vector<ExportVoteRecord>& votes,
                                           const std::string& viewer,
                                           const std::vector<std::string>& files,
                                           ExportState state);

// The comments `viewer` may see on a version of `request` whose votes are `votes`: their own,
// the author's (the reviewers always see what the researcher says), and everyone's when
// SeesAllReviews.
std::vector<ExportCommentRecord> VisibleComments(const std::vector<ExportCommentRecord>& comments,
                                                 const std::vector<ExportVoteRecord>& votes,
                                                 const ExportRecord& request,
                                                 const std::string& viewer,
                                                 const std::vector<std::string>& files);

// Whether the request is decided or withdrawn (no more votes or withdrawal).
bool IsFinal(ExportState state);

}  // namespace kura::gateway
