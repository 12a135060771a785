#include <sqlite3.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <string>

#include "gateway/sqlite_store.h"
#include "gateway/sqlite_store_internal.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/status_matchers.h"
#include "tests/gateway/test_util.h"

namespace kura::gateway {
namespace {

using ::kura::gateway::testing::IsOkAndHolds;
using ::kura::gateway::testing::TempDir;
using ::kura::gateway::testing::TestNow;
using ::kura::testing::IsOk;
using ::kura::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kSha[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }
  void Reopen() {
    store_.reset();
    auto store = SqliteStore::Open(dir_.File("kura.db"));
    ASSERT_THAT(store, IsOk());
    store_ = std::move(*store);
  }
  // Fills the store with one of everything.
  void Populate() {
    UserRecord alice{.name = "alice", .roles = {Role::kResearcher}, .totp_secret = "secret-bytes"};
    alice.created = TestNow();
    ASSERT_THAT(store_->CreateUser(alice), IsOk());
    UserRecord root{.name = "root", .roles = {Role::kOperator, Role::kReviewer}};
    ASSERT_THAT(store_->CreateUser(root), IsOk());
    ASSERT_THAT(store_->CreateProject({"cancer", "a study", TestNow()}), IsOk());
    ASSERT_THAT(store_->AddProjectMember("cancer", "alice"), IsOk());
    ASSERT_THAT(store_->RegisterSchema({"claims", DataClass::kPseudonymized, "/srv/claims",
                                        std::string(kSha).substr(0, 64), TestNow()}),
                IsOk());
    ASSERT_THAT(store_->AddGrant(
                    {0, "cancer", "claims", TestNow(), TestNow() + absl::Hours(24), TestNow()}),
                IsOk());
    ASSERT_THAT(store_->AddTerminal(
                    {"vdi-01", TerminalClass::kDedicated, "ab12", false, std::nullopt, TestNow()}),
                IsOk());
    NodeRecord node{.id = "node-a", .certificate_serial = "cd34", .address = "127.0.0.1:7443"};
    node.capacity = {8000, int64_t{32} << 30, {{"gpu", "nvidia-h100", "0"}}};
    ASSERT_THAT(store_->UpsertNode(node), IsOk());
    ASSERT_THAT(store_->RecordHeartbeat("node-a", TestNow()), IsOk());
    ASSERT_THAT(store_->SetNodeCordoned("node-a", true), IsOk());
    WorkspaceRecord workspace{.id = "ws-1",
                              .project = "cancer",
                              .user = "alice",
                              .node = "node-a",
                              .state = WorkspaceState::kRunning};
    workspace.resources = {2000, int64_t{4} << 30, {{"gpu", "nvidia-h100", "0"}}};
    workspace.created = workspace.updated = TestNow();
    ASSERT_THAT(store_->CreateWorkspace(workspace), IsOk());
    ASSERT_THAT(store_->CreateSession({0, std::string(64, 'f'), "alice", "vdi-01", "fp", TestNow(),
                                       TestNow(), false}),
                IsOk());
    ASSERT_THAT(store_->AppendAuditEvent(
                    {"operator:root", "project.add", "project:cancer", "ok", R"({"b":1,"a":2})"},
                    TestNow()),
                IsOk());
  }

  TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(StoreTest, RestartKeepsEverything) {
  Populate();
  Reopen();
  KURA_ASSERT_OK_AND_ASSIGN(UserRecord alice, store_->GetUser("alice"));
  EXPECT_EQ(alice.totp_secret, "");  // only GetTotpSecret opens it
  EXPECT_THAT(store_->GetTotpSecret("alice"), IsOkAndHolds(std::string("secret-bytes")));
  EXPECT_THAT(store_->GetTotpSecret("root"), IsOkAndHolds(std::string()));
  EXPECT_THAT(alice.roles, ElementsAre(Role::kResearcher));
  EXPECT_EQ(alice.created, TestNow());
  KURA_ASSERT_OK_AND_ASSIGN(UserRecord root, store_->GetUser("root"));
  EXPECT_TRUE(root.HasRole(Role::kOperator));
  EXPECT_TRUE(root.HasRole(Role::kReviewer));
  EXPECT_FALSE(root.HasRole(Role::kResearcher));
  EXPECT_THAT(store_->ListProjectMembers("cancer"), IsOkAndHolds(ElementsAre("alice")));
  EXPECT_THAT(store_->ListProjectsOfUser("alice"), IsOkAndHolds(ElementsAre("cancer")));
  KURA_ASSERT_OK_AND_ASSIGN(SchemaRecord schema, store_->GetSchema("claims"));
  EXPECT_EQ(schema.data_class, DataClass::kPseudonymized);
  EXPECT_EQ(schema.path, "/srv/claims");
  KURA_ASSERT_OK_AND_ASSIGN(std::vector<GrantRecord> grants, store_->ListGrants("cancer"));
  ASSERT_EQ(grants.size(), 1u);
  EXPECT_EQ(grants[0].valid_to, TestNow() + absl::Hours(24));
  KURA_ASSERT_OK_AND_ASSIGN(TerminalRecord terminal, store_->GetTerminal("vdi-01"));
  EXPECT_EQ(terminal.terminal_class, TerminalClass::kDedicated);
  KURA_ASSERT_OK_AND_ASSIGN(NodeRecord node, store_->GetNode("node-a"));
  EXPECT_TRUE(node.cordoned);
  EXPECT_EQ(node.last_heartbeat, TestNow());
  EXPECT_EQ(node.capacity.devices.size(), 1u);
  EXPECT_EQ(node.capacity.memory_bytes, int64_t{32} << 30);
  KURA_ASSERT_OK_AND_ASSIGN(WorkspaceRecord workspace, store_->GetWorkspace("ws-1"));
  EXPECT_EQ(workspace.state, WorkspaceState::kRunning);
  EXPECT_EQ(workspace.resources.devices, node.capacity.devices);
  KURA_ASSERT_OK_AND_ASSIGN(SessionRecord session,
                            store_->GetSessionByTokenHash(std::string(64, 'f')));
  EXPECT_EQ(session.user, "alice");
  KURA_ASSERT_OK_AND_ASSIGN(std::vector<AuditEvent> events, store_->ListAuditEvents());
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].entry.details_json, R"({"a":2,"b":1})");
  EXPECT_THAT(store_->SchemaVersion(), IsOkAndHolds(kStoreSchemaVersion));
}

TEST_F(StoreTest, ErrorsNameWhatIsWrong) {
  Populate();
  struct Case {
    const char* name;
    absl::Status status;
    absl::StatusCode code;
    const char* message;
  };
  const Case cases[] = {
      {"duplicate user", store_->CreateUser({.name = "alice", .roles = {Role::kReviewer}}),
       absl::StatusCode::kAlreadyExists, "user 'alice' already exists"},
      {"user without role", store_->CreateUser({.name = "bob"}), absl::StatusCode::kInvalidArgument,
       "at least one role"},
      {"unknown user", store_->GetUser("bob").status(), absl::StatusCode::kNotFound,
       "no user 'bob'"},
      {"member of unknown project", store_->AddProjectMember("nope", "alice"),
       absl::StatusCode::kNotFound, "no project 'nope'"},
      {"unknown member", store_->AddProjectMember("cancer", "bob"), absl::StatusCode::kNotFound,
       "no user 'bob'"},
      {"member twice", store_->AddProjectMember("cancer", "alice"),
       absl::StatusCode::kAlreadyExists, "already a member"},
      {"grant of unknown schema",
       store_->AddGrant({0, "cancer", "nope", TestNow(), TestNow() + absl::Hours(1), TestNow()})
           .status(),
       absl::StatusCode::kNotFound, "no schema 'nope'"},
      {"inverted grant",
       store_->AddGrant({0, "cancer", "claims", TestNow(), TestNow(), TestNow()}).status(),
       absl::StatusCode::kInvalidArgument, "after its valid_from"},
      {"duplicate terminal",
       store_->AddTerminal({"vdi-01", TerminalClass::kStandard, "x", false, {}, TestNow()}),
       absl::StatusCode::kAlreadyExists, "terminal 'vdi-01' already exists"},
      {"cordon unknown node", store_->SetNodeCordoned("node-z", true), absl::StatusCode::kNotFound,
       "no node 'node-z'"},
      {"workspace on unknown node",
       store_->CreateWorkspace(
           {.id = "ws-2", .project = "cancer", .user = "alice", .node = "node-z"}),
       absl::StatusCode::kNotFound, "no node 'node-z'"},
      {"session of unknown user",
       store_
           ->CreateSession({0, std::string(64, 'e'), "bob", "t", "fp", TestNow(), TestNow(), false})
           .status(),
       absl::StatusCode::kNotFound, "no user 'bob'"},
      {"audit details not an object",
       store_->AppendAuditEvent({"a", "b", "c", "ok", "[1]"}, TestNow()).status(),
       absl::StatusCode::kInvalidArgument, "JSON object"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(c.status, StatusIs(c.code, HasSubstr(c.message))) << c.name;
  }
}

TEST_F(StoreTest, FactorStateIsAtomicAndPersistent) {
  Populate();
  for (int i = 1; i <= 4; ++i) {
    KURA_ASSERT_OK_AND_ASSIGN(UserRecord u, store_->RecordFactorFailure("alice", TestNow(), 5));
    EXPECT_EQ(u.failed_attempts, i);
    EXPECT_FALSE(u.locked);
  }
  KURA_ASSERT_OK_AND_ASSIGN(UserRecord locked, store_->RecordFactorFailure("alice", TestNow(), 5));
  EXPECT_TRUE(locked.locked);
  Reopen();
  KURA_ASSERT_OK_AND_ASSIGN(UserRecord after, store_->GetUser("alice"));
  EXPECT_TRUE(after.locked);
  EXPECT_EQ(after.last_failure, TestNow());
  ASSERT_THAT(store_->SetUserLocked("alice", false), IsOk());
  KURA_ASSERT_OK_AND_ASSIGN(UserRecord unlocked, store_->GetUser("alice"));
  EXPECT_FALSE(unlocked.locked);
  EXPECT_EQ(unlocked.failed_attempts, 0);

  EXPECT_THAT(store_->ConsumeTotpStep("alice", 100), IsOk());
  EXPECT_THAT(store_->ConsumeTotpStep("alice", 100), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(store_->ConsumeTotpStep("alice", 99), StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(store_->ConsumeTotpStep("alice", 101), IsOk());
  EXPECT_THAT(store_->ConsumeTotpStep("bob", 1), StatusIs(absl::StatusCode::kNotFound));

  absl::Time later = TestNow() + absl::Seconds(120);
  EXPECT_THAT(store_->ConsumeNonce("broker", "n1", later, TestNow()), IsOk());
  EXPECT_THAT(store_->ConsumeNonce("broker", "n1", later, TestNow()),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("replay")));
  EXPECT_THAT(store_->ConsumeNonce("other", "n1", later, TestNow()), IsOk());
  // Once expired, a nonce is forgotten (its assertion is stale by then anyway).
  EXPECT_THAT(store_->ConsumeNonce("broker", "n1", later + absl::Seconds(120), later), IsOk());
}

TEST_F(StoreTest, RevocationAndListing) {
  Populate();
  ASSERT_THAT(store_->RevokeTerminal("vdi-01", TestNow()), IsOk());
  ASSERT_THAT(store_->RevokeCertificate("cd34", "node-a decommissioned", TestNow()), IsOk());
  EXPECT_THAT(store_->RevokeTerminal("vdi-99", TestNow()), StatusIs(absl::StatusCode::kNotFound));
  Reopen();
  KURA_ASSERT_OK_AND_ASSIGN(TerminalRecord terminal, store_->GetTerminal("vdi-01"));
  EXPECT_TRUE(terminal.revoked);
  EXPECT_EQ(terminal.revoked_at, TestNow());
  EXPECT_THAT(store_->ListRevokedSerials(), IsOkAndHolds(ElementsAre("ab12", "cd34")));

  KURA_ASSERT_OK_AND_ASSIGN(int64_t second,
                            store_->CreateSession({0, std::string(64, '1'), "alice", "vdi-01", "fp",
                                                   TestNow(), TestNow(), false}));
  ASSERT_THAT(store_->TouchSession(second, TestNow() + absl::Minutes(3)), IsOk());
  KURA_ASSERT_OK_AND_ASSIGN(int revoked, store_->RevokeUserSessions("alice"));
  EXPECT_EQ(revoked, 2);
  KURA_ASSERT_OK_AND_ASSIGN(std::vector<SessionRecord> sessions, store_->ListSessions("alice"));
  ASSERT_EQ(sessions.size(), 2u);
  EXPECT_TRUE(sessions[0].revoked && sessions[1].revoked);
  EXPECT_EQ(sessions[1].last_used, TestNow() + absl::Minutes(3));

  ASSERT_THAT(store_->SetWorkspaceState("ws-1", WorkspaceState::kClosed, TestNow()), IsOk());
  EXPECT_THAT(store_->ListWorkspaces(std::string("node-a")), IsOkAndHolds(::testing::SizeIs(1)));
  EXPECT_THAT(store_->ListWorkspaces(std::string("node-b")), IsOkAndHolds(::testing::IsEmpty()));
}

TEST_F(StoreTest, ValuesAreBoundNeverSpliced) {
  const std::string name = "x'); DROP TABLE users; --";
  UserRecord odd;
  odd.name = name;
  odd.roles = {Role::kResearcher};
  ASSERT_THAT(store_->CreateUser(odd), IsOk());
  KURA_ASSERT_OK_AND_ASSIGN(UserRecord back, store_->GetUser(name));
  EXPECT_EQ(back.name, name);
  EXPECT_THAT(store_->ListUsers(), IsOkAndHolds(::testing::SizeIs(1)));
  EXPECT_THAT(store_->GetUser("' OR '1'='1"), StatusIs(absl::StatusCode::kNotFound));
  // WAL mode: the write-ahead log sits beside the database while it is open.
  struct stat st;
  EXPECT_EQ(::stat(dir_.File("kura.db-wal").c_str(), &st), 0);
}

// A store written by the previous kura (schema 2: no consolidation, no vote rounds, no
// comments) is migrated in place and keeps every request and vote.
TEST_F(StoreTest, MigratesExportsFromSchemaTwo) {
  store_.reset();
  std::remove(dir_.File("kura.db").c_str());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir_.File("kura.db").c_str(), &db), SQLITE_OK);
  const auto& migrations = sqlite_internal::Migrations();
  std::string old = migrations[0] + migrations[1] + R"sql(
    INSERT INTO users (name, created_us) VALUES ('alice', 1), ('bob', 1);
    INSERT INTO projects (name, created_us) VALUES ('cardio', 1);
    INSERT INTO export_requests VALUES (1, 1, 'cardio', 'alice', 'ws-1', 'fig 2', 'in_review',
      'snap', '[]', '{"files": []}', 'pass', 'acro-default', 'cc', '0.1.0', '[]', 1, 5, 6);
    INSERT INTO export_votes (request_id, version, reviewer, file, decision, comment,
      override_reason, time_us) VALUES (1, 1, 'bob', 't.csv', 'reject', 'no', '', 7);
    PRAGMA user_version = 2;)sql";
  ASSERT_EQ(sqlite3_exec(db, old.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  sqlite3_close(db);
  KURA_ASSERT_OK_AND_ASSIGN(store_, SqliteStore::Open(dir_.File("kura.db")));
  EXPECT_THAT(store_->SchemaVersion(), IsOkAndHolds(kStoreSchemaVersion));
  KURA_ASSERT_OK_AND_ASSIGN(ExportRecord r, store_->GetExport(1));
  EXPECT_EQ(r.state, ExportState::kInReview);
  EXPECT_EQ(r.justification, "fig 2");
  EXPECT_EQ(r.image_json, "{}");
  KURA_ASSERT_OK_AND_ASSIGN(std::vector<ExportVoteRecord> votes, store_->ListExportVotes(1, 1));
  ASSERT_EQ(votes.size(), 1u);
  EXPECT_EQ(votes[0].round, 1);
  EXPECT_EQ(votes[0].comment, "no");
  // The migrated tables take the new state and still refer to each other.
  EXPECT_THAT(store_->SetExportState(1, ExportState::kInReview, ExportState::kConsolidation,
                                     absl::FromUnixSeconds(9)),
              IsOk());
  ExportVoteRecord revision = votes[0];
  revision.decision = VoteDecision::kApprove;
  EXPECT_THAT(store_->AddExportVote(revision), IsOkAndHolds(2));
  ExportCommentRecord orphan{1, 9, "bob", "", "on a version that does not exist",
                             absl::FromUnixSeconds(9)};
  EXPECT_THAT(store_->AddExportComment(orphan), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(StoreTest, RefusesAStoreFromANewerKura) {
  store_.reset();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(dir_.File("kura.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  EXPECT_THAT(SqliteStore::Open(dir_.File("kura.db")),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("newer kura")));
}

}  // namespace
}  // namespace kura::gateway
