// Export requests in the store and the review rules: nothing is approved without the votes it
// needs from people allowed to give them.

#include <memory>
#include <string>

#include "gateway/export_review.h"
#include "gateway/sqlite_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/status_matchers.h"
#include "tests/gateway/test_util.h"

namespace kura::gateway {
namespace {

using ::kura::gateway::testing::TempDir;
using ::kura::gateway::testing::TestNow;
using ::kura::testing::IsOk;
using ::kura::testing::StatusIs;
using ::testing::HasSubstr;

constexpr char kReport[] =
    R"({"policy": {"name": "acro-default"}, "files": [
        {"path": "t.csv", "verdict": "fail"}, {"path": "notes.md", "verdict": "pass"}]})";

ExportRecord Request() {
  ExportRecord r;
  r.id = 1;
  r.project = "cardio";
  r.author = "alice";
  r.workspace = "ws-1";
  r.justification = "table 2 of the paper";
  r.state = ExportState::kInReview;
  r.snapshot_id = std::string(64, 'a');
  r.report_json = kReport;
  r.verdict = "fail";
  r.required_reviewers = 2;
  r.created = r.updated = TestNow();
  return r;
}

ExportVoteRecord Vote(const std::string& reviewer, const std::string& file, VoteDecision d,
                      const std::string& override_reason = "") {
  ExportVoteRecord v;
  v.request_id = 1;
  v.version = 1;
  v.reviewer = reviewer;
  v.file = file;
  v.decision = d;
  v.override_reason = override_reason;
  v.time = TestNow();
  return v;
}

UserRecord User(const std::string& name, std::vector<Role> roles) {
  UserRecord u;
  u.name = name;
  u.roles = std::move(roles);
  return u;
}

const std::vector<std::string> kFiles = {"notes.md", "t.csv"};

TEST(ExportReviewTest, RequiredReviewersFollowTheDataClass) {
  EXPECT_EQ(RequiredReviewers({DataClass::kAnonymized}), 1);
  EXPECT_EQ(RequiredReviewers({DataClass::kAnonymized, DataClass::kPseudonymized}), 2);
}

TEST(ExportReviewTest, WhoMayVote) {
  ExportRecord r = Request();
  EXPECT_THAT(CheckMayVote(r, User("bob", {Role::kReviewer}), true), IsOk());
  EXPECT_THAT(CheckMayVote(r, User("alice", {Role::kResearcher, Role::kReviewer}), true),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("author")));
  EXPECT_THAT(CheckMayVote(r, User("carol", {Role::kResearcher}), true),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("not a reviewer")));
  EXPECT_THAT(CheckMayVote(r, User("dave", {Role::kReviewer}), false),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("not a reviewer")));
  for (ExportState s : {ExportState::kSubmitted, ExportState::kApproved,
                        ExportState::kChangesRequested, ExportState::kRejected,
                        ExportState::kWithdrawn}) {
    r.state = s;
    EXPECT_THAT(CheckMayVote(r, User("bob", {Role::kReviewer}), true),
                StatusIs(absl::StatusCode::kFailedPrecondition))
        << ExportStateName(s);
  }
}

TEST(ExportReviewTest, AFailingFileNeedsAnOverrideToBeApproved) {
  ExportRecord r = Request();
  auto verdicts = FileVerdicts(r.report_json);
  ASSERT_THAT(verdicts.status(), IsOk());
  EXPECT_THAT(CheckVote(r, *verdicts, Vote("bob", "t.csv", VoteDecision::kApprove)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("override")));
  EXPECT_THAT(CheckVote(r, *verdicts,
                        Vote("bob", "t.csv", VoteDecision::kApprove, "structural zero")),
              IsOk());
  EXPECT_THAT(CheckVote(r, *verdicts, Vote("bob", "t.csv", VoteDecision::kReject)), IsOk());
  EXPECT_THAT(CheckVote(r, *verdicts, Vote("bob", "notes.md", VoteDecision::kApprove)), IsOk());
  EXPECT_THAT(CheckVote(r, *verdicts, Vote("bob", "other.csv", VoteDecision::kApprove)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ExportVoteRecord stale = Vote("bob", "notes.md", VoteDecision::kApprove);
  r.version = 2;
  EXPECT_THAT(CheckVote(r, *verdicts, stale),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("version 2")));
  EXPECT_FALSE(FileVerdicts("not json").ok());
}

TEST(ExportReviewTest, OneVoteIsNotEnoughWhenTwoAreRequired) {
  std::vector<ExportVoteRecord> votes = {
      Vote("bob", "t.csv", VoteDecision::kApprove, "ok"),
      Vote("bob", "notes.md", VoteDecision::kApprove)};
  EXPECT_EQ(Tally(votes, kFiles, 2), ExportState::kInReview);
  EXPECT_EQ(Tally(votes, kFiles, 1), ExportState::kApproved);
  // A second reviewer who voted on one file only does not complete the review.
  votes.push_back(Vote("carol", "t.csv", VoteDecision::kApprove, "ok"));
  EXPECT_EQ(Tally(votes, kFiles, 2), ExportState::kInReview);
  votes.push_back(Vote("carol", "notes.md", VoteDecision::kApprove));
  EXPECT_EQ(Tally(votes, kFiles, 2), ExportState::kApproved);
}

TEST(ExportReviewTest, AgreementDecidesAndDisagreementGoesToConsolidation) {
  std::vector<ExportVoteRecord> votes = {
      Vote("bob", "t.csv", VoteDecision::kApprove, "ok"),
      Vote("bob", "notes.md", VoteDecision::kApprove),
      Vote("carol", "t.csv", VoteDecision::kRequestChanges),
      Vote("carol", "notes.md", VoteDecision::kApprove)};
  EXPECT_EQ(Tally(votes, kFiles, 2), ExportState::kConsolidation);
  // A revision (a higher round) replaces the reviewer's vote on that file.
  ExportVoteRecord revised = Vote("bob", "t.csv", VoteDecision::kRequestChanges);
  revised.round = 2;
  votes.push_back(revised);
  EXPECT_EQ(Tally(votes, kFiles, 2), ExportState::kChangesRequested);
  ASSERT_EQ(CurrentVotes(votes).size(), 4u);
  for (const ExportVoteRecord& v : CurrentVotes(votes)) {
    if (v.reviewer == "bob" && v.file == "t.csv") EXPECT_EQ(v.round, 2);
  }
  // Agreement to reject one file rejects the request; any split on a file is no agreement.
  for (ExportVoteRecord& v : votes) {
    if (v.file == "t.csv") v.decision = VoteDecision::kReject;
  }
  EXPECT_EQ(Tally(votes, kFiles, 2), ExportState::kRejected);
  votes.back().decision = VoteDecision::kApprove;  // bob's revision: approve vs carol's reject
  EXPECT_EQ(Tally(votes, kFiles, 2), ExportState::kConsolidation);
  // Unanimous approval of every file, and only that, approves.
  for (ExportVoteRecord& v : votes) v.decision = VoteDecision::kApprove;
  EXPECT_EQ(Tally(votes, kFiles, 2), ExportState::kApproved);
}

TEST(ExportReviewTest, CommentsAreBlindAsVotesAreButTheAuthorsReachReviewers) {
  ExportRecord r = Request();
  std::vector<ExportVoteRecord> votes = {Vote("bob", "t.csv", VoteDecision::kReject),
                                         Vote("bob", "notes.md", VoteDecision::kReject)};
  auto comment = [](const std::string& author) {
    ExportCommentRecord c;
    c.author = author;
    c.text = author + " says";
    return c;
  };
  std::vector<ExportCommentRecord> comments = {comment("bob"), comment("carol"),
                                               comment("alice")};
  auto authors = [&](const std::string& viewer) {
    std::vector<std::string> out;
    for (const auto& c : VisibleComments(comments, votes, r, viewer, kFiles)) {
      out.push_back(c.author);
    }
    return out;
  };
  EXPECT_THAT(authors("carol"), ::testing::ElementsAre("carol", "alice"));
  EXPECT_THAT(authors("bob"), ::testing::ElementsAre("bob", "carol", "alice"));
  EXPECT_THAT(authors("alice"), ::testing::ElementsAre("alice"));
  r.state = ExportState::kRejected;
  EXPECT_THAT(authors("alice"), ::testing::ElementsAre("bob", "carol", "alice"));
  // Who may comment.
  r.state = ExportState::kInReview;
  EXPECT_THAT(CheckMayComment(r, User("alice", {Role::kResearcher}), true), IsOk());
  EXPECT_THAT(CheckMayComment(r, User("bob", {Role::kReviewer}), true), IsOk());
  EXPECT_THAT(CheckMayComment(r, User("bob", {Role::kReviewer}), false),
              StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(CheckMayComment(r, User("dave", {Role::kResearcher}), true),
              StatusIs(absl::StatusCode::kPermissionDenied));
  r.state = ExportState::kWithdrawn;
  EXPECT_THAT(CheckMayComment(r, User("alice", {Role::kResearcher}), true),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(ExportReviewTest, VotesAreBlindUntilOneHasVoted) {
  std::vector<ExportVoteRecord> votes = {
      Vote("bob", "t.csv", VoteDecision::kReject), Vote("bob", "notes.md", VoteDecision::kReject),
      Vote("carol", "t.csv", VoteDecision::kApprove, "ok")};
  // Carol has voted on one file of two: she sees only her own.
  auto seen = VisibleVotes(votes, "carol", kFiles, ExportState::kInReview);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].reviewer, "carol");
  EXPECT_TRUE(VisibleVotes(votes, "dave", kFiles, ExportState::kInReview).empty());
  EXPECT_EQ(VisibleVotes(votes, "bob", kFiles, ExportState::kInReview).size(), 3u);
  EXPECT_EQ(VisibleVotes(votes, "dave", kFiles, ExportState::kRejected).size(), 3u);
}

class ExportStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    auto store = SqliteStore::Open(dir_.File("kura.db"));
    ASSERT_THAT(store.status(), IsOk());
    store_ = std::move(*store);
  }
  void Populate() {
    for (const char* name : {"alice", "bob", "carol"}) {
      UserRecord u = User(name, {Role::kReviewer});
      u.created = TestNow();
      ASSERT_THAT(store_->CreateUser(u), IsOk());
    }
    ASSERT_THAT(store_->CreateProject({.name = "cardio", .created = TestNow()}), IsOk());
  }

  TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(ExportStoreTest, RequestsAndVotesSurviveARestart) {
  Populate();
  ExportRecord r = Request();
  r.state = ExportState::kChecked;
  auto id = store_->CreateExport(r);
  ASSERT_THAT(id.status(), IsOk());
  EXPECT_EQ(*id, 1);
  EXPECT_EQ(*store_->CreateExport(r), 2);
  ASSERT_THAT(store_->SetExportState(1, ExportState::kChecked, ExportState::kInReview,
                                     TestNow() + absl::Seconds(1)),
              IsOk());
  // A transition from a state the request is no longer in loses.
  EXPECT_THAT(store_->SetExportState(1, ExportState::kChecked, ExportState::kWithdrawn, TestNow()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(store_->SetExportState(9, ExportState::kChecked, ExportState::kWithdrawn, TestNow()),
              StatusIs(absl::StatusCode::kNotFound));
  ASSERT_THAT(store_->AddExportVote(Vote("bob", "t.csv", VoteDecision::kReject)).status(), IsOk());
  EXPECT_THAT(store_->AddExportVote(Vote("bob", "t.csv", VoteDecision::kApprove, "x")).status(),
              StatusIs(absl::StatusCode::kAlreadyExists));
  ASSERT_THAT(
      store_->AddExportVote(Vote("carol", "t.csv", VoteDecision::kApprove, "why")).status(),
      IsOk());
  Reopen();
  auto got = store_->GetExport(1);
  ASSERT_THAT(got.status(), IsOk());
  EXPECT_EQ(got->state, ExportState::kInReview);
  EXPECT_EQ(got->report_json, kReport);
  EXPECT_EQ(got->required_reviewers, 2);
  EXPECT_EQ(got->justification, "table 2 of the paper");
  auto votes = store_->ListExportVotes(1, 1);
  ASSERT_THAT(votes.status(), IsOk());
  ASSERT_EQ(votes->size(), 2u);
  EXPECT_EQ((*votes)[0].reviewer, "bob");
  EXPECT_EQ((*votes)[0].decision, VoteDecision::kReject);
  EXPECT_EQ((*votes)[1].override_reason, "why");
  auto all = store_->ListExports("cardio");
  ASSERT_THAT(all.status(), IsOk());
  EXPECT_EQ(all->size(), 2u);
  EXPECT_TRUE(store_->ListExports("other")->empty());
  EXPECT_THAT(store_->GetExport(7).status(), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ExportStoreTest, ANewVersionStartsWithNoVotes) {
  Populate();
  ExportRecord r = Request();
  ASSERT_THAT(store_->CreateExport(r).status(), IsOk());
  ASSERT_THAT(store_->AddExportVote(Vote("bob", "t.csv", VoteDecision::kReject)).status(),
              IsOk());
  r.snapshot_id = std::string(64, 'e');
  r.state = ExportState::kChecked;
  auto version = store_->AddExportVersion(r, 1);
  ASSERT_THAT(version.status(), IsOk());
  EXPECT_EQ(*version, 2);
  auto latest = store_->GetExport(1);
  ASSERT_THAT(latest.status(), IsOk());
  EXPECT_EQ(latest->version, 2);
  EXPECT_EQ(latest->snapshot_id, std::string(64, 'e'));
  EXPECT_TRUE(store_->ListExportVotes(1, 2)->empty());
  EXPECT_EQ(store_->ListExportVotes(1, 1)->size(), 1u);
  EXPECT_EQ(store_->ListExportVersions(1)->size(), 2u);
  EXPECT_EQ(store_->ListExports("cardio")->size(), 1u);
  // State changes touch the latest version only.
  ASSERT_THAT(store_->SetExportState(1, ExportState::kChecked, ExportState::kWithdrawn, TestNow()),
              IsOk());
  EXPECT_EQ(store_->ListExportVersions(1)->front().state, ExportState::kInReview);
  r.id = 42;
  EXPECT_THAT(store_->AddExportVersion(r, 1).status(), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(ExportStoreTest, RefusesUnknownProjectsAndUsers) {
  Populate();
  ExportRecord r = Request();
  r.project = "nope";
  EXPECT_THAT(store_->CreateExport(r).status(), StatusIs(absl::StatusCode::kNotFound));
  r = Request();
  r.required_reviewers = 0;
  EXPECT_THAT(store_->CreateExport(r).status(), StatusIs(absl::StatusCode::kInvalidArgument));
}

// The store decides, atomically, whether a vote or a new version still applies: a vote on a
// version that a resubmission replaced, or a resubmission racing a deciding vote, loses.
TEST_F(ExportStoreTest, VotesAndVersionsAreCheckedAgainstTheLatestAtomically) {
  Populate();
  ExportRecord r = Request();
  ASSERT_THAT(store_->CreateExport(r).status(), IsOk());
  r.snapshot_id = std::string(64, 'b');
  ASSERT_THAT(store_->AddExportVersion(r, 1).status(), IsOk());
  // A second resubmission that was based on version 1 loses.
  r.snapshot_id = std::string(64, 'c');
  EXPECT_THAT(store_->AddExportVersion(r, 1).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("version 2")));
  // A vote naming version 1 is refused now.
  EXPECT_THAT(store_->AddExportVote(Vote("bob", "t.csv", VoteDecision::kApprove, "x")).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("version 2")));
  // Decided: no new version, no vote.
  ASSERT_THAT(store_->SetExportState(1, ExportState::kInReview, ExportState::kRejected, TestNow()),
              IsOk());
  EXPECT_THAT(store_->AddExportVersion(r, 2).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("rejected")));
  ExportVoteRecord late = Vote("bob", "t.csv", VoteDecision::kApprove, "x");
  late.version = 2;
  EXPECT_THAT(store_->AddExportVote(late).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("rejected")));
}

TEST_F(ExportStoreTest, ConsolidationTakesRevisionsFromTheReviewersWhoVotedOnly) {
  Populate();
  ExportRecord r = Request();
  ASSERT_THAT(store_->CreateExport(r).status(), IsOk());
  auto first = store_->AddExportVote(Vote("bob", "t.csv", VoteDecision::kReject));
  ASSERT_THAT(first.status(), IsOk());
  EXPECT_EQ(*first, 1);
  ASSERT_THAT(store_->SetExportState(1, ExportState::kInReview, ExportState::kConsolidation,
                                     TestNow()),
              IsOk());
  auto second = store_->AddExportVote(Vote("bob", "t.csv", VoteDecision::kApprove, "ok"));
  ASSERT_THAT(second.status(), IsOk());
  EXPECT_EQ(*second, 2);
  EXPECT_EQ(*store_->AddExportVote(Vote("bob", "t.csv", VoteDecision::kReject)), 3);
  EXPECT_THAT(store_->AddExportVote(Vote("carol", "t.csv", VoteDecision::kApprove, "x")).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("consolidation")));
  Reopen();
  auto votes = store_->ListExportVotes(1, 1);
  ASSERT_THAT(votes.status(), IsOk());
  ASSERT_EQ(votes->size(), 3u);
  EXPECT_EQ((*votes)[2].round, 3);
  ASSERT_EQ(CurrentVotes(*votes).size(), 1u);
  EXPECT_EQ(CurrentVotes(*votes)[0].decision, VoteDecision::kReject);
}

TEST_F(ExportStoreTest, CommentsAreKeptPerVersion) {
  Populate();
  ExportRecord r = Request();
  r.image_json = R"({"name":"host:x","digest":"sha256:00"})";
  ASSERT_THAT(store_->CreateExport(r).status(), IsOk());
  ExportCommentRecord c{1, 1, "bob", "t.csv", "thin row", TestNow()};
  ASSERT_THAT(store_->AddExportComment(c), IsOk());
  c.version = 5;
  EXPECT_THAT(store_->AddExportComment(c), StatusIs(absl::StatusCode::kNotFound));
  c.version = 1;
  c.author = "mallory";
  EXPECT_THAT(store_->AddExportComment(c), StatusIs(absl::StatusCode::kNotFound));
  c.author = "carol";
  c.text = "";
  EXPECT_FALSE(store_->AddExportComment(c).ok());
  Reopen();
  auto comments = store_->ListExportComments(1, 1);
  ASSERT_THAT(comments.status(), IsOk());
  ASSERT_EQ(comments->size(), 1u);
  EXPECT_EQ((*comments)[0].text, "thin row");
  EXPECT_EQ((*comments)[0].file, "t.csv");
  EXPECT_TRUE(store_->ListExportComments(1, 2)->empty());
  EXPECT_EQ(store_->GetExport(1)->image_json, r.image_json);
}

}  // namespace
}  // namespace kura::gateway
