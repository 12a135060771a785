// Export requests and their review through the gateway: the state machine, who may vote, the
// number of reviewers, blinding, the override a failing file needs, withdrawal, restarts and
// the audit trail. The node is FakeNode (its snapshot and check are tested in tests/node).

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "gateway/release.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/fake_node.h"
#include "tests/e2e/stack.h"

namespace kura::e2e {
namespace {

using gateway::DataClass;
using gateway::Role;
using gateway::TerminalClass;
using ::testing::HasSubstr;
using ::testing::Not;

class ExportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const absl::Time now = absl::Now();
    stack_.AddUser("alice", {Role::kResearcher, Role::kReviewer}, {"cancer-2026"});
    stack_.AddUser("rev1", {Role::kReviewer}, {"cancer-2026"});
    stack_.AddUser("rev2", {Role::kReviewer}, {"cancer-2026"});
    stack_.AddUser("outsider", {Role::kReviewer}, {"other-2026"});
    stack_.AddUser("dave", {Role::kResearcher}, {"cancer-2026"});
    stack_.AddUser("rev3", {Role::kReviewer}, {"cancer-2026"});
    stack_.AddGrantedSchema("cancer-2026", "claims", DataClass::kAnonymized,
                            now - absl::Hours(1), now + absl::Hours(24));
    stack_.AddGrantedSchema("cancer-2026", "claims_pseudo", DataClass::kPseudonymized,
                            now - absl::Hours(1), now + absl::Hours(24));
    terminal_ = stack_.Terminal("vdi-sec", TerminalClass::kDedicated);
    ASSERT_TRUE(stack_.StartGateway({"--heartbeat-interval", "60"}).ok());
    node_identity_ = stack_.Node("n1");
    node_ = std::make_unique<FakeNode>(node_identity_);
    kura::v1::RegisterNodeRequest request;
    request.set_address(node_->address());
    request.mutable_capacity()->set_cpus(8);
    request.mutable_capacity()->set_memory_bytes(16ull << 30);
    kura::v1::RegisterNodeResponse response;
    auto context = CallContext();
    ASSERT_TRUE(stack_.Registry(node_identity_)->Register(context.get(), request, &response).ok());
    for (const char* user : {"alice", "rev1", "rev2", "outsider", "dave", "rev3"}) {
      absl::StatusOr<std::string> token = stack_.Login(terminal_, user);
      ASSERT_TRUE(token.ok()) << token.status();
      tokens_[user] = *token;
    }
  }

  std::string OpenWorkspace(const std::vector<std::string>& schemas) {
    kura::v1::OpenWorkspaceRequest request;
    request.set_project("cancer-2026");
    for (const std::string& s : schemas) request.add_schemas(s);
    kura::v1::Workspace workspace;
    auto context = CallContext(tokens_["alice"]);
    grpc::Status status =
        stack_.Researcher(terminal_)->OpenWorkspace(context.get(), request, &workspace);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return workspace.id();
  }

  grpc::Status Request(const std::string& workspace, const std::vector<std::string>& paths,
                       kura::v1::ExportRequest* out, const std::string& justification = "fig 2") {
    kura::v1::RequestExportRequest request;
    request.set_workspace_id(workspace);
    for (const std::string& p : paths) request.add_paths(p);
    request.set_justification(justification);
    auto context = CallContext(tokens_["alice"]);
    return stack_.Researcher(terminal_)->RequestExport(context.get(), request, out);
  }

  // A release as the stream brings it: the header, then each file's chunks.
  struct Release {
    kura::v1::ReleaseHeader header;
    std::map<std::string, std::string> files;
    size_t largest_chunk = 0;
  };

  grpc::Status Download(const std::string& user, int64_t id, Release* out) {
    kura::v1::DownloadReleaseRequest request;
    request.set_id(id);
    auto context = CallContext(tokens_[user]);
    auto reader = stack_.Researcher(terminal_)->DownloadRelease(context.get(), request);
    *out = Release();
    kura::v1::ReleaseChunk chunk;
    bool first = true;
    while (reader->Read(&chunk)) {
      EXPECT_EQ(chunk.has_header(), first) << "the header comes first, and only once";
      first = false;
      if (chunk.has_header()) out->header = chunk.header();
      if (chunk.has_file()) {
        out->files[chunk.file().path()] += chunk.file().data();
        out->largest_chunk = std::max(out->largest_chunk, chunk.file().data().size());
      }
    }
    return reader->Finish();
  }

  // File `path` of version `version` (0: latest) of request `id`, as `user` reads it.
  grpc::Status ReadFile(const std::string& user, int64_t id, int version, const std::string& path,
                        std::string* out) {
    kura::v1::ReadExportFileRequest request;
    request.set_id(id);
    request.set_version(version);
    request.set_path(path);
    auto context = CallContext(tokens_[user]);
    auto reader = stack_.Researcher(terminal_)->ReadExportFile(context.get(), request);
    out->clear();
    kura::v1::FileChunk chunk;
    uint64_t size = 0;
    std::string sha256;
    while (reader->Read(&chunk)) {
      if (out->empty()) {
        size = chunk.size();
        sha256 = chunk.sha256();
      }
      EXPECT_LE(chunk.data().size(), 1u << 20);
      *out += chunk.data();
    }
    grpc::Status status = reader->Finish();
    if (status.ok()) {
      EXPECT_EQ(out->size(), size);
      EXPECT_EQ(Sha256Hex(*out), sha256);
    }
    return status;
  }

  grpc::Status Comment(const std::string& user, int64_t id, const std::string& file,
                       const std::string& text, kura::v1::ExportRequest* out = nullptr) {
    kura::v1::CommentRequest request;
    request.set_id(id);
    request.set_file(file);
    request.set_text(text);
    kura::v1::ExportRequest ignored;
    auto context = CallContext(tokens_[user]);
    return stack_.Researcher(terminal_)->Comment(context.get(), request, out ? out : &ignored);
  }

  grpc::Status Resubmit(int64_t id, const std::vector<std::string>& paths,
                        kura::v1::ExportRequest* out) {
    kura::v1::ResubmitExportRequest request;
    request.set_id(id);
    for (const std::string& p : paths) request.add_paths(p);
    auto context = CallContext(tokens_["alice"]);
    return stack_.Researcher(terminal_)->ResubmitExport(context.get(), request, out);
  }

  grpc::Status Vote(const std::string& user, int64_t id, const std::string& file,
                    const std::string& decision, kura::v1::ExportRequest* out = nullptr,
                    const std::string& override_reason = "", int version = 1) {
    kura::v1::VoteRequest request;
    request.set_id(id);
    request.set_version(version);
    request.set_file(file);
    request.set_decision(decision);
    request.set_comment(absl::StrCat(user, " looked"));
    request.set_override_reason(override_reason);
    kura::v1::ExportRequest ignored;
    auto context = CallContext(tokens_[user]);
    return stack_.Researcher(terminal_)->Vote(context.get(), request, out ? out : &ignored);
  }

  kura::v1::ExportRequest Show(const std::string& user, int64_t id, bool as_reviewer,
                               int version = 0) {
    kura::v1::ShowExportRequest request;
    request.set_id(id);
    request.set_version(version);
    kura::v1::ExportRequest out;
    auto context = CallContext(tokens_[user]);
    grpc::Status status =
        as_reviewer ? stack_.Researcher(terminal_)->ShowReview(context.get(), request, &out)
                    : stack_.Researcher(terminal_)->ShowExport(context.get(), request, &out);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return out;
  }

  bool Audited(absl::string_view action, absl::string_view outcome,
               absl::string_view details_part = "") {
    auto events = stack_.store().ListAuditEvents();
    if (!events.ok()) return false;
    for (const gateway::AuditEvent& e : *events) {
      if (e.entry.action == action && e.entry.outcome == outcome &&
          absl::StrContains(e.entry.details_json, details_part)) {
        return true;
      }
    }
    return false;
  }

  Stack stack_;
  TlsIdentity terminal_;
  TlsIdentity node_identity_;
  std::unique_ptr<FakeNode> node_;
  std::map<std::string, std::string> tokens_;
};

TEST_F(ExportTest, TwoReviewersForPseudonymizedDataAndOnlyThem) {
  std::string ws = OpenWorkspace({"claims", "claims_pseudo"});
  kura::v1::ExportRequest request;
  grpc::Status status = Request(ws, {"table.csv"}, &request);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(request.state(), "checked");
  EXPECT_EQ(request.required_reviewers(), 2);
  ASSERT_EQ(request.files_size(), 1);
  EXPECT_EQ(request.files(0).verdict(), "pass");
  const int64_t id = request.id();

  // The author, a reviewer of another project and a member who is no reviewer cannot vote.
  grpc::Status author = Vote("alice", id, "table.csv", "approve");
  EXPECT_EQ(author.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(author.error_message(), HasSubstr("author"));
  for (const char* user : {"outsider", "dave"}) {
    grpc::Status refused = Vote(user, id, "table.csv", "approve");
    EXPECT_EQ(refused.error_code(), grpc::StatusCode::PERMISSION_DENIED) << user;
    EXPECT_THAT(refused.error_message(), HasSubstr("not a reviewer")) << user;
  }
  // Nothing is released before approval, and one vote when two are required decides nothing.
  Release release;
  grpc::Status early = Download("alice", id, &release);
  EXPECT_EQ(early.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(early.error_message(), HasSubstr("not approved"));
  kura::v1::ExportRequest after;
  ASSERT_TRUE(Vote("rev1", id, "table.csv", "approve", &after).ok());
  EXPECT_EQ(after.state(), "in_review");
  EXPECT_EQ(Download("alice", id, &release).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(Vote("rev1", id, "table.csv", "reject").error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  // Blinded: rev2 does not see rev1's vote before voting.
  EXPECT_EQ(Show("rev2", id, true).votes_size(), 0);
  EXPECT_EQ(Show("rev1", id, true).votes_size(), 1);
  // The state survives a gateway restart mid-review.
  stack_.StopGateway();
  ASSERT_TRUE(stack_.StartGateway({"--heartbeat-interval", "60"}).ok());
  ASSERT_TRUE(Vote("rev2", id, "table.csv", "approve", &after).ok());
  EXPECT_EQ(after.state(), "approved");
  EXPECT_EQ(after.votes_size(), 2);
  EXPECT_EQ(Show("alice", id, false).state(), "approved");
  // The author downloads the signed release and it verifies offline; no one else gets it.
  status = Download("alice", id, &release);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(release.files.size(), 1u);
  EXPECT_EQ(release.files["table.csv"], "table.csv");
  ScratchDir out;
  ASSERT_TRUE(gateway::WriteReleaseDir(out.path() + "/r", release.header.manifest_json(),
                                       release.header.signature(), release.files)
                  .ok());
  EXPECT_TRUE(gateway::VerifyReleaseDir(out.path() + "/r", release.header.public_key()).ok());
  EXPECT_THAT(release.header.manifest_json(), HasSubstr("\"rev2\""));
  // The manifest names the workspace image; the reviewers' comments stay inside.
  EXPECT_THAT(release.header.manifest_json(), HasSubstr(FakeNode::Image().digest()));
  EXPECT_THAT(release.header.manifest_json(), Not(HasSubstr("looked")));
  EXPECT_EQ(Download("rev1", id, &release).error_code(), grpc::StatusCode::NOT_FOUND);
  // Bytes that differ from what was reviewed are never released.
  node_->TamperSnapshots();
  grpc::Status tampered = Download("alice", id, &release);
  EXPECT_EQ(tampered.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(tampered.error_message(), HasSubstr("no longer matches what was reviewed"));
  EXPECT_TRUE(Audited("export.download", "ok"));
  EXPECT_TRUE(Audited("export.download", "denied", "not approved"));
  // A decided request takes no more votes and cannot be withdrawn.
  kura::v1::WithdrawExportRequest withdraw;
  withdraw.set_id(id);
  auto context = CallContext(tokens_["alice"]);
  EXPECT_EQ(stack_.Researcher(terminal_)->WithdrawExport(context.get(), withdraw, &after)
                .error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(Audited("export.request", "ok"));
  EXPECT_TRUE(Audited("export.check", "ok", "pass"));
  EXPECT_TRUE(Audited("export.vote", "denied", "author"));
  EXPECT_TRUE(Audited("export.vote", "ok", "rev2 looked"));
  EXPECT_TRUE(Audited("export.decide", "ok", "approved"));
}

// The node reads the data class in the schema's own manifest; the gateway goes by what the
// operator registered, so a manifest that understates the class cannot lower the bar.
TEST_F(ExportTest, ReviewersFollowTheRegisteredClassNotTheManifest) {
  const absl::Time now = absl::Now();
  // Registered pseudonymized; the (fake) node reports it anonymized, as its name has no "pseudo".
  stack_.AddGrantedSchema("cancer-2026", "claims_linked", DataClass::kPseudonymized,
                          now - absl::Hours(1), now + absl::Hours(24));
  std::string ws = OpenWorkspace({"claims_linked"});
  kura::v1::ExportRequest request;
  grpc::Status status = Request(ws, {"table.csv"}, &request);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(request.required_reviewers(), 2);
}

TEST_F(ExportTest, AFailingFileNeedsAnOverrideAndAChangedFileResetsTheVotes) {
  std::string ws = OpenWorkspace({"claims"});
  kura::v1::ExportRequest request;
  ASSERT_TRUE(Request(ws, {"small.csv", "notes.md"}, &request).ok());
  EXPECT_EQ(request.required_reviewers(), 1);
  EXPECT_EQ(request.verdict(), "fail");
  grpc::Status no_reason = Vote("rev1", request.id(), "small.csv", "approve");
  EXPECT_EQ(no_reason.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(no_reason.error_message(), HasSubstr("override"));
  EXPECT_EQ(Vote("rev1", request.id(), "other.csv", "approve").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  kura::v1::ExportRequest after;
  ASSERT_TRUE(Vote("rev1", request.id(), "small.csv", "approve", &after, "a structural zero").ok());
  EXPECT_EQ(after.state(), "in_review");  // notes.md not yet voted on
  ASSERT_TRUE(Vote("rev1", request.id(), "notes.md", "request_changes", &after).ok());
  EXPECT_EQ(after.state(), "changes_requested");
  EXPECT_TRUE(Audited("export.vote", "ok", "a structural zero"));

  // A changed file makes a new version; the votes start over and a vote on the old one is
  // refused.
  kura::v1::ResubmitExportRequest resubmit;
  resubmit.set_id(request.id());
  resubmit.add_paths("fixed.csv");
  resubmit.add_paths("notes.md");
  auto context = CallContext(tokens_["alice"]);
  kura::v1::ExportRequest second;
  grpc::Status resubmitted =
      stack_.Researcher(terminal_)->ResubmitExport(context.get(), resubmit, &second);
  ASSERT_TRUE(resubmitted.ok()) << resubmitted.error_message();
  EXPECT_EQ(second.id(), request.id());
  EXPECT_EQ(second.version(), 2);
  EXPECT_EQ(second.state(), "checked");
  EXPECT_EQ(second.verdict(), "pass");
  EXPECT_EQ(Show("rev1", request.id(), true).votes_size(), 0);
  EXPECT_EQ(Vote("rev1", request.id(), "notes.md", "approve").error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);  // Vote() names version 1
  auto same = CallContext(tokens_["alice"]);
  EXPECT_EQ(stack_.Researcher(terminal_)->ResubmitExport(same.get(), resubmit, &second)
                .error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);  // unchanged files
  EXPECT_TRUE(Audited("export.resubmit", "ok"));
}

TEST_F(ExportTest, RefusedFilesWithdrawalAndOtherPeoplesRequests) {
  std::string ws = OpenWorkspace({"claims"});
  kura::v1::ExportRequest request;
  grpc::Status link = Request(ws, {"link.csv"}, &request);
  EXPECT_EQ(link.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(link.error_message(), HasSubstr("symlink"));
  EXPECT_TRUE(Audited("export.request", "denied", "symlink"));
  EXPECT_EQ(Request(ws, {"t.csv"}, &request, "").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  ASSERT_TRUE(Request(ws, {"t.csv"}, &request).ok());
  // Another researcher sees no such request, whatever the call.
  kura::v1::ShowExportRequest show;
  show.set_id(request.id());
  kura::v1::ExportRequest out;
  auto dave = CallContext(tokens_["dave"]);
  EXPECT_EQ(stack_.Researcher(terminal_)->ShowExport(dave.get(), show, &out).error_code(),
            grpc::StatusCode::NOT_FOUND);
  // The author cannot open it as a reviewer; a reviewer lists it.
  auto alice = CallContext(tokens_["alice"]);
  EXPECT_EQ(stack_.Researcher(terminal_)->ShowReview(alice.get(), show, &out).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  kura::v1::ListExportsResponse reviews;
  auto rev = CallContext(tokens_["rev1"]);
  ASSERT_TRUE(stack_.Researcher(terminal_)
                  ->ListReviews(rev.get(), kura::v1::ListReviewsRequest(), &reviews)
                  .ok());
  ASSERT_EQ(reviews.requests_size(), 1);
  EXPECT_EQ(reviews.requests(0).justification(), "fig 2");
  kura::v1::WithdrawExportRequest withdraw;
  withdraw.set_id(request.id());
  auto again = CallContext(tokens_["alice"]);
  ASSERT_TRUE(stack_.Researcher(terminal_)->WithdrawExport(again.get(), withdraw, &out).ok());
  EXPECT_EQ(out.state(), "withdrawn");
  EXPECT_EQ(Vote("rev1", request.id(), "t.csv", "approve").error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
  kura::v1::ListExportsResponse mine;
  auto list = CallContext(tokens_["alice"]);
  ASSERT_TRUE(stack_.Researcher(terminal_)
                  ->ListExports(list.get(), kura::v1::ListExportsRequest(), &mine)
                  .ok());
  EXPECT_EQ(mine.requests_size(), 1);
  EXPECT_TRUE(Audited("export.withdraw", "ok"));
}

// Reviewers who disagree never release anything by majority or by the last word: the request
// waits in consolidation, where the reviewers who voted see each other's votes and may revise
// their own, until they agree.
TEST_F(ExportTest, DisagreementGoesToConsolidationUntilTheReviewersAgree) {
  std::string ws = OpenWorkspace({"claims_pseudo"});
  kura::v1::ExportRequest request;
  ASSERT_TRUE(Request(ws, {"table.csv"}, &request).ok());
  const int64_t id = request.id();
  ASSERT_EQ(request.required_reviewers(), 2);
  kura::v1::ExportRequest after;
  ASSERT_TRUE(Vote("rev1", id, "table.csv", "approve", &after).ok());
  ASSERT_TRUE(Vote("rev2", id, "table.csv", "reject", &after).ok());
  EXPECT_EQ(after.state(), "consolidation");
  EXPECT_EQ(after.votes_size(), 2);  // rev2 voted on every file: sees rev1's vote
  EXPECT_EQ(Show("rev1", id, true).votes_size(), 2);
  // The author learns nothing until the request is decided; nothing is released.
  EXPECT_EQ(Show("alice", id, false).votes_size(), 0);
  Release release;
  EXPECT_EQ(Download("alice", id, &release).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  // Only the reviewers who voted may vote again; the author still cannot.
  grpc::Status newcomer = Vote("rev3", id, "table.csv", "approve");
  EXPECT_EQ(newcomer.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(newcomer.error_message(), HasSubstr("consolidation"));
  EXPECT_EQ(Vote("alice", id, "table.csv", "approve").error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  // rev1 moves to request changes: still no agreement (reject vs request_changes).
  ASSERT_TRUE(Vote("rev1", id, "table.csv", "request_changes", &after).ok());
  EXPECT_EQ(after.state(), "consolidation");
  // The state survives a restart; then rev2 agrees and the request is decided.
  stack_.StopGateway();
  ASSERT_TRUE(stack_.StartGateway({"--heartbeat-interval", "60"}).ok());
  ASSERT_TRUE(Vote("rev2", id, "table.csv", "request_changes", &after).ok());
  EXPECT_EQ(after.state(), "changes_requested");
  kura::v1::ExportRequest shown = Show("alice", id, false);
  ASSERT_EQ(shown.votes_size(), 4);  // every round, now the request is decided
  int revisions = 0;
  for (const auto& v : shown.votes()) revisions += v.round() > 1;
  EXPECT_EQ(revisions, 2);
  EXPECT_TRUE(Audited("export.decide", "ok", "consolidation"));
  EXPECT_TRUE(Audited("export.vote", "denied", "consolidation"));

  // Resubmitted, the new version is reviewed afresh and both approve: released, with the
  // consolidation recorded in the manifest only when it happened for that version.
  ASSERT_TRUE(Resubmit(id, {"table2.csv"}, &after).ok());
  ASSERT_TRUE(Vote("rev1", id, "table2.csv", "approve", &after, "", 2).ok());
  ASSERT_TRUE(Vote("rev2", id, "table2.csv", "reject", &after, "", 2).ok());
  ASSERT_EQ(after.state(), "consolidation");
  ASSERT_TRUE(Vote("rev2", id, "table2.csv", "approve", &after, "", 2).ok());
  ASSERT_EQ(after.state(), "approved");
  grpc::Status status = Download("alice", id, &release);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(release.header.manifest_json(), HasSubstr("\"consolidated\": true"));
  EXPECT_THAT(release.header.manifest_json(), HasSubstr("\"round\": 2"));
}

// A comment without a vote is blinded as votes are: other reviewers see it once they have
// voted on every file, the author once the request is decided; the researcher's own comments
// reach the reviewers at once.
TEST_F(ExportTest, CommentsWithoutAVoteAreBlindedAsVotesAre) {
  std::string ws = OpenWorkspace({"claims_pseudo"});
  kura::v1::ExportRequest request;
  ASSERT_TRUE(Request(ws, {"table.csv", "notes.md"}, &request).ok());
  const int64_t id = request.id();
  kura::v1::ExportRequest after;
  ASSERT_TRUE(Comment("rev1", id, "table.csv", "row 02/F looks thin", &after).ok());
  EXPECT_EQ(after.comments_size(), 1);
  EXPECT_EQ(after.state(), "checked");  // a comment is no vote
  ASSERT_TRUE(Comment("alice", id, "", "the zeros are structural").ok());
  EXPECT_EQ(Show("rev2", id, true).comments_size(), 1);  // only the author's
  EXPECT_EQ(Show("rev2", id, true).comments(0).author(), "alice");
  EXPECT_EQ(Show("alice", id, false).comments_size(), 1);  // her own
  // Refused: someone neither author nor reviewer, a file not in the request, no text.
  for (const char* user : {"outsider", "dave"}) {
    EXPECT_EQ(Comment(user, id, "", "hi").error_code(), grpc::StatusCode::PERMISSION_DENIED)
        << user;
  }
  EXPECT_EQ(Comment("rev1", id, "other.csv", "x").error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Comment("rev1", id, "", "").error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(Comment("rev1", 999, "", "x").error_code(), grpc::StatusCode::NOT_FOUND);
  // rev2 votes on one file: still blinded; on both: sees rev1's comment.
  ASSERT_TRUE(Vote("rev2", id, "table.csv", "approve").ok());
  EXPECT_EQ(Show("rev2", id, true).comments_size(), 1);
  ASSERT_TRUE(Vote("rev2", id, "notes.md", "approve").ok());
  EXPECT_EQ(Show("rev2", id, true).comments_size(), 2);
  EXPECT_EQ(Show("alice", id, false).comments_size(), 1);
  ASSERT_TRUE(Vote("rev1", id, "table.csv", "approve").ok());
  ASSERT_TRUE(Vote("rev1", id, "notes.md", "approve", &after).ok());
  EXPECT_EQ(after.state(), "approved");
  EXPECT_EQ(Show("alice", id, false).comments_size(), 2);
  EXPECT_TRUE(Audited("export.comment", "ok", "row 02/F looks thin"));
  EXPECT_TRUE(Audited("export.comment", "denied"));
  // The release carries no comment.
  Release release;
  ASSERT_TRUE(Download("alice", id, &release).ok());
  EXPECT_THAT(release.header.manifest_json(), Not(HasSubstr("looks thin")));
  EXPECT_THAT(release.header.manifest_json(), Not(HasSubstr("structural")));
}

// Files above gRPC's 4 MiB message size go to reviewers and into releases in 1 MiB chunks;
// reviewers read earlier versions; what reaches them is what was hashed.
TEST_F(ExportTest, LargeFilesEarlierVersionsAndWhoMayReadThem) {
  std::string ws = OpenWorkspace({"claims"});
  kura::v1::ExportRequest request;
  ASSERT_TRUE(Request(ws, {"big.csv"}, &request).ok());
  const int64_t id = request.id();
  const std::string big = FakeNode::FileContent("big.csv");
  ASSERT_GT(big.size(), 4u << 20);
  std::string read;
  grpc::Status status = ReadFile("rev1", id, 0, "big.csv", &read);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(read, big);
  ASSERT_TRUE(ReadFile("alice", id, 0, "big.csv", &read).ok());  // the author too
  EXPECT_EQ(ReadFile("dave", id, 0, "big.csv", &read).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReadFile("outsider", id, 0, "big.csv", &read).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(ReadFile("rev1", id, 0, "secret.csv", &read).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ReadFile("rev1", id, 7, "big.csv", &read).error_code(), grpc::StatusCode::NOT_FOUND);

  // A second version; the first stays readable with its history.
  kura::v1::ExportRequest second;
  ASSERT_TRUE(Resubmit(id, {"big.csv", "notes.md"}, &second).ok());
  kura::v1::ExportRequest v1 = Show("rev1", id, true, 1);
  EXPECT_EQ(v1.version(), 1);
  EXPECT_EQ(v1.latest_version(), 2);
  ASSERT_EQ(v1.versions_size(), 2);
  EXPECT_EQ(v1.versions(0).files_size(), 1);
  EXPECT_EQ(v1.versions(1).files_size(), 2);
  EXPECT_EQ(v1.image().digest(), FakeNode::Image().digest());
  ASSERT_TRUE(ReadFile("rev1", id, 1, "big.csv", &read).ok());
  EXPECT_EQ(ReadFile("rev1", id, 1, "notes.md", &read).error_code(),
            grpc::StatusCode::NOT_FOUND);  // not in version 1
  ASSERT_TRUE(Vote("rev1", id, "big.csv", "approve", nullptr, "", 2).ok());
  kura::v1::ExportRequest after;
  ASSERT_TRUE(Vote("rev1", id, "notes.md", "approve", &after, "", 2).ok());
  ASSERT_EQ(after.state(), "approved");
  Release release;
  status = Download("alice", id, &release);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(release.files["big.csv"], big);
  EXPECT_LE(release.largest_chunk, 1u << 20);
  ScratchDir out;
  ASSERT_TRUE(gateway::WriteReleaseDir(out.path() + "/r", release.header.manifest_json(),
                                       release.header.signature(), release.files)
                  .ok());
  EXPECT_TRUE(gateway::VerifyReleaseDir(out.path() + "/r", release.header.public_key()).ok());
  // Bytes that differ from what was hashed reach neither a reviewer nor a release.
  node_->TamperSnapshots();
  grpc::Status tampered = ReadFile("rev1", id, 0, "big.csv", &read);
  EXPECT_EQ(tampered.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(read, "");
  EXPECT_EQ(Download("alice", id, &release).error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(release.files.empty());
  EXPECT_TRUE(release.header.manifest_json().empty());
  EXPECT_TRUE(Audited("export.read", "ok", "big.csv"));
  EXPECT_TRUE(Audited("export.read", "failed"));
}

}  // namespace
}  // namespace kura::e2e
