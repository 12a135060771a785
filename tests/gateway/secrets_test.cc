// TOTP secrets at rest: sealed with AES-256-GCM under DIR/pki/secrets.key, bound to the user's
// name, converted from plaintext when an older store is opened, and never read in plaintext.

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "common/crypto.h"
#include "gateway/factor.h"
#include "gateway/login.h"
#include "gateway/session.h"
#include "gateway/sqlite_store.h"
#include "gateway/sqlite_store_internal.h"
#include "gateway/totp.h"
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
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kSecret[] = "abcdefghijabcdefghij";

class SecretsTest : public ::testing::Test {
 protected:
  std::string StorePath() const { return dir_.File("store.sqlite"); }
  std::string KeyPath() const { return dir_.File("pki/secrets.key"); }

  std::unique_ptr<SqliteStore> Open() {
    auto store = SqliteStore::Open(StorePath());
    EXPECT_THAT(store, IsOk());
    return store.ok() ? *std::move(store) : nullptr;
  }
  void AddUser(Store& store, const std::string& name, const std::string& secret = kSecret) {
    UserRecord user{.name = name, .roles = {Role::kResearcher}, .totp_secret = secret};
    user.created = TestNow();
    ASSERT_THAT(store.CreateUser(user), IsOk());
  }
  // Runs SQL on the store's file directly, behind the store's back.
  void Sql(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(StorePath().c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error), SQLITE_OK)
        << (error != nullptr ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
  }
  // The users.totp_secret_hex column of `name`, as the file holds it.
  std::string StoredSecret(const std::string& name) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(StorePath().c_str(), &db), SQLITE_OK);
    sqlite3_stmt* statement = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT totp_secret_hex FROM users WHERE name = ?", -1,
                                 &statement, nullptr),
              SQLITE_OK);
    sqlite3_bind_text(statement, 1, name.c_str(), -1, SQLITE_TRANSIENT);
    std::string value;
    if (sqlite3_step(statement) == SQLITE_ROW) {
      value = reinterpret_cast<const char*>(sqlite3_column_text(statement, 0));
    }
    sqlite3_finalize(statement);
    sqlite3_close(db);
    return value;
  }
  std::string Code(absl::Time t) { return *ComputeTotp(kSecret, TotpStepAt(t)); }

  TempDir dir_;
};

TEST_F(SecretsTest, TheFileHoldsOnlyTheSealedSecretAndTheKeyIsPrivate) {
  std::unique_ptr<SqliteStore> store = Open();
  AddUser(*store, "alice");
  std::string stored = StoredSecret("alice");
  EXPECT_THAT(stored, StartsWith("v1:"));
  EXPECT_THAT(stored, Not(HasSubstr(HexEncode(kSecret))));
  EXPECT_THAT(stored, Not(HasSubstr(kSecret)));
  // nonce + ciphertext + tag, in hex after "v1:"
  EXPECT_EQ(stored.size(), 3 + 2 * (kAesGcmNonceSize + 20 + kAesGcmTagSize));

  struct stat key_stat {};
  ASSERT_EQ(stat(KeyPath().c_str(), &key_stat), 0);
  EXPECT_EQ(key_stat.st_mode & 0777, 0600u);
  EXPECT_EQ(key_stat.st_size, 65);  // 64 hex digits and a newline
}

TEST_F(SecretsTest, LoginWorksAfterARestart) {
  AddUser(*Open(), "alice");
  std::unique_ptr<SqliteStore> store = Open();
  ASSERT_TRUE(store.get() != nullptr);
  EXPECT_THAT(store->GetTotpSecret("alice"), IsOkAndHolds(std::string(kSecret)));
  TotpFactor totp(*store);
  EXPECT_THAT(totp.Verify({"alice", "vdi-01", TestNow()}, Code(TestNow())), IsOk());
}

TEST_F(SecretsTest, ASealedSecretCopiedToAnotherUserDoesNotOpen) {
  {
    std::unique_ptr<SqliteStore> store = Open();
    AddUser(*store, "alice");
    AddUser(*store, "bob", "bob's own secret....");
  }
  Sql("UPDATE users SET totp_secret_hex = (SELECT totp_secret_hex FROM users "
      "WHERE name = 'alice') WHERE name = 'bob'");
  std::unique_ptr<SqliteStore> store = Open();
  EXPECT_THAT(store->GetTotpSecret("bob"),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("TOTP secret of 'bob'")));
  // Alice's code does not log bob in: the factor fails, it does not accept.
  TotpFactor totp(*store);
  EXPECT_THAT(totp.Verify({"bob", "vdi-01", TestNow()}, Code(TestNow())),
              StatusIs(absl::StatusCode::kInternal));
  EXPECT_THAT(store->GetTotpSecret("alice"), IsOkAndHolds(std::string(kSecret)));
}

TEST_F(SecretsTest, PlaintextRowsOfAnOlderStoreAreSealedOnOpenOnce) {
  const auto& migrations = sqlite_internal::Migrations();
  Sql(migrations[0] + migrations[1] + migrations[2] +
      "INSERT INTO users (name, totp_secret_hex, created_us) VALUES ('alice', '" +
      HexEncode(kSecret) + "', 1), ('root', '', 1);\nPRAGMA user_version = 3;");
  std::unique_ptr<SqliteStore> store = Open();
  EXPECT_THAT(store->SchemaVersion(), IsOkAndHolds(kStoreSchemaVersion));
  std::string sealed = StoredSecret("alice");
  EXPECT_THAT(sealed, StartsWith("v1:"));
  EXPECT_EQ(StoredSecret("root"), "");
  EXPECT_THAT(store->GetTotpSecret("alice"), IsOkAndHolds(std::string(kSecret)));
  store.reset();
  store = Open();
  EXPECT_EQ(StoredSecret("alice"), sealed);  // idempotent: not sealed a second time
  EXPECT_THAT(store->GetTotpSecret("alice"), IsOkAndHolds(std::string(kSecret)));
}

TEST_F(SecretsTest, APlaintextRowIsNeverReadAsPlaintext) {
  {
    std::unique_ptr<SqliteStore> store = Open();
    AddUser(*store, "alice");
  }
  // Planted behind the store's back while the gateway runs: it does not open.
  std::unique_ptr<SqliteStore> store = Open();
  Sql("UPDATE users SET totp_secret_hex = '" + HexEncode(kSecret) + "' WHERE name = 'alice'");
  EXPECT_THAT(store->GetTotpSecret("alice"),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("not sealed")));
}

TEST_F(SecretsTest, AMissingKeyFailsLoginsCleanlyAndIsNotReplaced) {
  AddUser(*Open(), "alice");
  ASSERT_EQ(unlink(KeyPath().c_str()), 0);
  std::unique_ptr<SqliteStore> store = Open();
  ASSERT_TRUE(store.get() != nullptr);
  EXPECT_THAT(store->GetTotpSecret("alice"),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("secrets.key")));
  // A name that is no user fails alike while the key is missing: nothing to tell them apart.
  EXPECT_THAT(store->GetTotpSecret("nobody"), StatusIs(absl::StatusCode::kInternal));
  // A new key would open nothing stored so far: adding a user fails instead of making one.
  UserRecord bob{.name = "bob", .roles = {Role::kResearcher}, .totp_secret = kSecret};
  EXPECT_THAT(store->CreateUser(bob), StatusIs(absl::StatusCode::kInternal));
  EXPECT_NE(access(KeyPath().c_str(), F_OK), 0);
  // Everything but the secret still works.
  EXPECT_THAT(store->GetUser("alice"), IsOk());

  // Through the Authenticator: an internal error, audited, and no session.
  ASSERT_THAT(
      store->AddTerminal({"vdi-01", TerminalClass::kStandard, "ab12", false, {}, TestNow()}),
      IsOk());
  PeerIdentity terminal{PeerRole::kTerminal,  "vdi-01",  TerminalClass::kStandard,  "ab12",
                        std::string(64, 'c'), TestNow(), TestNow() + absl::Hours(1)};
  SessionManager sessions(*store, SessionPolicy{});
  Authenticator auth(*store, sessions);
  auth.AddFactor(std::make_unique<TotpFactor>(*store));
  EXPECT_THAT(auth.Login({"alice", terminal, "totp", Code(TestNow())}, TestNow()),
              StatusIs(absl::StatusCode::kInternal));
  KURA_ASSERT_OK_AND_ASSIGN(std::vector<AuditEvent> events, store->ListAuditEvents());
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().entry.outcome, "denied");
  EXPECT_THAT(events.back().entry.details_json, HasSubstr(R"("cause":"internal")"));
  EXPECT_THAT(store->ListSessions("alice"), IsOkAndHolds(::testing::IsEmpty()));
}

TEST_F(SecretsTest, AWrongKeyFailsCleanly) {
  AddUser(*Open(), "alice");
  ASSERT_EQ(unlink(KeyPath().c_str()), 0);
  ASSERT_THAT(LoadSecretsKey(KeyPath(), /*create=*/true), IsOk());  // another key
  std::unique_ptr<SqliteStore> store = Open();
  EXPECT_THAT(store->GetTotpSecret("alice"),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("does not open")));
  EXPECT_THAT(store->GetTotpSecret("nobody"), StatusIs(absl::StatusCode::kInternal));
}

TEST_F(SecretsTest, AMalformedKeyFileIsRefused) {
  ASSERT_EQ(mkdir(dir_.File("pki").c_str(), 0700), 0);
  FILE* f = fopen(KeyPath().c_str(), "w");
  ASSERT_NE(f, nullptr);
  fputs("not a key\n", f);
  fclose(f);
  EXPECT_THAT(LoadSecretsKey(KeyPath(), /*create=*/true),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("64 hex digits")));
  std::unique_ptr<SqliteStore> store = Open();
  UserRecord alice{.name = "alice", .roles = {Role::kResearcher}, .totp_secret = kSecret};
  EXPECT_THAT(store->CreateUser(alice),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("64 hex digits")));
}

TEST_F(SecretsTest, TheKeyPathCanBeGiven) {
  const std::string key = dir_.File("elsewhere.key");
  {
    auto store = SqliteStore::Open(StorePath(), key);
    ASSERT_THAT(store, IsOk());
    AddUser(**store, "alice");
  }
  EXPECT_EQ(access(key.c_str(), F_OK), 0);
  EXPECT_NE(access(KeyPath().c_str(), F_OK), 0);
  auto store = SqliteStore::Open(StorePath(), key);
  ASSERT_THAT(store, IsOk());
  EXPECT_THAT((*store)->GetTotpSecret("alice"), IsOkAndHolds(std::string(kSecret)));
}

TEST(TotpSecretSealTest, BoundToTheUserAndNeverPlaintext) {
  const std::string key(32, 'k');
  KURA_ASSERT_OK_AND_ASSIGN(std::string sealed, SealTotpSecret(key, "alice", kSecret));
  EXPECT_TRUE(IsSealedTotpSecret(sealed));
  EXPECT_THAT(OpenTotpSecret(key, "alice", sealed), IsOkAndHolds(std::string(kSecret)));
  EXPECT_THAT(OpenTotpSecret(key, "bob", sealed), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(OpenTotpSecret(std::string(32, 'x'), "alice", sealed),
              StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(OpenTotpSecret(key, "alice", HexEncode(kSecret)),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("not sealed")));
  EXPECT_THAT(OpenTotpSecret(key, "alice", "v1:zz"), StatusIs(absl::StatusCode::kDataLoss));
  EXPECT_THAT(OpenTotpSecret(key, "alice", "v1:00"), StatusIs(absl::StatusCode::kDataLoss));
}

}  // namespace
}  // namespace kura::gateway
