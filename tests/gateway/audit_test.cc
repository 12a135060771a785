#include "gateway/audit.h"

#include <sqlite3.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
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
using ::testing::HasSubstr;

// Runs SQL on the store's file behind the store's back, as someone with write access to the
// file could; the triggers are dropped first, as such a person would.
std::string Tamper(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return "open failed";
  std::string script = absl::StrCat(
      "DROP TRIGGER IF EXISTS audit_events_no_update;"
      "DROP TRIGGER IF EXISTS audit_events_no_delete;",
      sql);
  char* error = nullptr;
  std::string result;
  if (sqlite3_exec(db, script.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    result = error != nullptr ? error : "error";
    sqlite3_free(error);
  }
  sqlite3_close(db);
  return result;
}

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteStore::Open(path_);
    ASSERT_THAT(store, IsOk());
    for (int i = 1; i <= 5; ++i) {
      AuditEntry entry{"operator:root", "grant.add", absl::StrCat("project:p", i), "ok",
                       absl::StrCat(R"({"n":)", i, "}")};
      auto event = (*store)->AppendAuditEvent(entry, TestNow() + absl::Seconds(i));
      ASSERT_THAT(event, IsOk());
      hashes_.push_back(event->hash);
    }
  }
  AuditChainReport Verify(const std::optional<AuditAnchor>& anchor = std::nullopt) {
    auto store = SqliteStore::Open(path_);
    EXPECT_THAT(store, IsOk());
    auto events = (*store)->ListAuditEvents();
    EXPECT_THAT(events, IsOk());
    return VerifyAuditChain(*events, anchor);
  }

  TempDir dir_;
  std::string path_ = dir_.File("kura.db");
  std::vector<std::string> hashes_;  // hashes_[i] is event i + 1's
};

TEST_F(AuditTest, AnHonestChainVerifies) {
  AuditChainReport report = Verify(AuditAnchor{5, hashes_[4]});
  EXPECT_TRUE(report.intact) << report.problem;
  EXPECT_EQ(report.events, 5);
  EXPECT_EQ(report.head_seq, 5);
  EXPECT_EQ(report.head_hash, hashes_[4]);
  EXPECT_TRUE(VerifyAuditChain({}).intact);
}

TEST_F(AuditTest, TheStoreRefusesToEditOrDeleteEvents) {
  auto store = SqliteStore::Open(path_);
  ASSERT_THAT(store, IsOk());
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
  EXPECT_NE(sqlite3_exec(db, "UPDATE audit_events SET outcome = 'x'", nullptr, nullptr, nullptr),
            SQLITE_OK);
  EXPECT_THAT(sqlite3_errmsg(db), HasSubstr("append-only"));
  EXPECT_NE(sqlite3_exec(db, "DELETE FROM audit_events", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
}

TEST_F(AuditTest, TamperingIsDetectedAtTheSeqItBreaks) {
  // A well-formed event 3 made with the library itself: the most careful forgery possible
  // without rewriting every later hash.
  auto forged = SealAuditEvent(
      3, hashes_[1], {"operator:mallory", "grant.add", "project:x", "ok", "{}"}, TestNow());
  ASSERT_THAT(forged, IsOk());
  const std::string insert_forged =
      absl::StrCat("INSERT INTO audit_events VALUES (3, ", absl::ToUnixMicros(forged->time),
                   ", 'operator:mallory', 'grant.add', 'project:x', 'ok', '{}', '",
                   forged->prev_hash, "', '", forged->hash, "');");
  struct Case {
    const char* name;
    std::string sql;
    int64_t broken_seq;
    const char* problem;
  };
  const Case cases[] = {
      {"edited outcome", "UPDATE audit_events SET outcome = 'denied' WHERE seq = 3;", 3, "edited"},
      {"edited details", R"(UPDATE audit_events SET details = '{"n":99}' WHERE seq = 2;)", 2,
       "edited"},
      {"edited time", "UPDATE audit_events SET time_us = time_us + 1 WHERE seq = 5;", 5, "edited"},
      {"deleted", "DELETE FROM audit_events WHERE seq = 3;", 3, "missing"},
      {"deleted first", "DELETE FROM audit_events WHERE seq = 1;", 1, "missing"},
      {"inserted",
       "UPDATE audit_events SET seq = seq + 100 WHERE seq >= 3;"
       "UPDATE audit_events SET seq = seq - 99 WHERE seq >= 103;" +
           insert_forged,
       4, "prev_hash"},
      {"appended with a bad hash",
       absl::StrCat("INSERT INTO audit_events VALUES (6, 0, 'a', 'b', 'c', 'ok', '{}', '",
                    hashes_[4], "', 'beef');"),
       6, "edited"},
      {"reordered",
       "UPDATE audit_events SET seq = 100 WHERE seq = 2;"
       "UPDATE audit_events SET seq = 2 WHERE seq = 3;"
       "UPDATE audit_events SET seq = 3 WHERE seq = 100;",
       2, "prev_hash"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    TempDir copy;
    // Each case starts from the honest chain: rebuild it in a fresh file.
    std::string backup = copy.File("kura.db");
    {
      sqlite3* src = nullptr;
      sqlite3* dst = nullptr;
      ASSERT_EQ(sqlite3_open(path_.c_str(), &src), SQLITE_OK);
      ASSERT_EQ(sqlite3_open(backup.c_str(), &dst), SQLITE_OK);
      sqlite3_backup* b = sqlite3_backup_init(dst, "main", src, "main");
      ASSERT_NE(b, nullptr);
      sqlite3_backup_step(b, -1);
      sqlite3_backup_finish(b);
      sqlite3_close(src);
      sqlite3_close(dst);
    }
    ASSERT_EQ(Tamper(backup, c.sql), "");
    auto store = SqliteStore::Open(backup);
    ASSERT_THAT(store, IsOk());
    auto events = (*store)->ListAuditEvents();
    ASSERT_THAT(events, IsOk());
    AuditChainReport report = VerifyAuditChain(*events);
    EXPECT_FALSE(report.intact);
    EXPECT_EQ(report.broken_seq, c.broken_seq);
    EXPECT_THAT(report.problem, HasSubstr(c.problem));
  }
}

TEST_F(AuditTest, CuttingTheTailNeedsAnAnchorToBeSeen) {
  ASSERT_EQ(Tamper(path_, "DELETE FROM audit_events WHERE seq >= 4;"), "");
  EXPECT_TRUE(Verify().intact);  // a hash chain alone cannot see its own end cut off
  AuditChainReport report = Verify(AuditAnchor{5, hashes_[4]});
  EXPECT_FALSE(report.intact);
  EXPECT_EQ(report.broken_seq, 5);
  EXPECT_THAT(report.problem, HasSubstr("is gone"));
  AuditChainReport wrong = Verify(AuditAnchor{2, hashes_[0]});
  EXPECT_FALSE(wrong.intact);
  EXPECT_THAT(wrong.problem, HasSubstr("anchor"));
}

TEST(AuditConcurrencyTest, ConcurrentWritersNeverForkTheChain) {
  TempDir dir;
  // Two connections to one file (as two gateway processes would have), two threads each.
  auto first = SqliteStore::Open(dir.File("kura.db"));
  auto second = SqliteStore::Open(dir.File("kura.db"));
  ASSERT_THAT(first, IsOk());
  ASSERT_THAT(second, IsOk());
  std::vector<std::thread> writers;
  std::vector<absl::Status> results(4);
  for (int w = 0; w < 4; ++w) {
    SqliteStore* store = (w % 2 == 0 ? *first : *second).get();
    writers.emplace_back([store, w, &results] {
      for (int i = 0; i < 10 && results[w].ok(); ++i) {
        results[w] = store
                         ->AppendAuditEvent({absl::StrCat("writer:", w), "test", "x", "ok",
                                             absl::StrCat(R"({"i":)", i, "}")},
                                            TestNow())
                         .status();
      }
    });
  }
  for (std::thread& t : writers) t.join();
  for (const absl::Status& r : results) EXPECT_THAT(r, IsOk());
  auto events = (*first)->ListAuditEvents();
  ASSERT_THAT(events, IsOk());
  EXPECT_EQ(events->size(), 40u);
  AuditChainReport report = VerifyAuditChain(*events);
  EXPECT_TRUE(report.intact) << report.problem;
}

TEST(AuditFormatTest, CanonicalFormSeparatesFieldsUnambiguously) {
  auto a = SealAuditEvent(1, kAuditGenesisHash, {"ab", "c", "s", "ok", "{}"}, TestNow());
  auto b = SealAuditEvent(1, kAuditGenesisHash, {"a", "bc", "s", "ok", "{}"}, TestNow());
  ASSERT_THAT(a, IsOk());
  ASSERT_THAT(b, IsOk());
  EXPECT_NE(a->hash, b->hash);
  EXPECT_THAT(AuditCanonicalForm(*a), HasSubstr("actor=2:ab\naction=1:c\n"));
  auto spaced = SealAuditEvent(1, kAuditGenesisHash,
                               {"a", "b", "s", "ok", R"({ "z": 1, "a": [1] })"}, TestNow());
  ASSERT_THAT(spaced, IsOk());
  EXPECT_EQ(spaced->entry.details_json, R"({"a":[1],"z":1})");
  EXPECT_FALSE(SealAuditEvent(1, kAuditGenesisHash, {"", "b", "s", "ok", "{}"}, TestNow()).ok());
  EXPECT_FALSE(SealAuditEvent(1, kAuditGenesisHash, {"a", "b", "s", "ok", "{"}, TestNow()).ok());
}

}  // namespace
}  // namespace kura::gateway
