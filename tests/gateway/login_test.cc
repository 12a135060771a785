#include "gateway/login.h"

#include <sqlite3.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "gateway/broker_assertion.h"
#include "gateway/login_guard.h"
#include "gateway/session.h"
#include "gateway/sqlite_store.h"
#include "gateway/totp.h"
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
using ::testing::Not;

TEST(LoginGuardTest, BacksOffExponentiallyAndLocks) {
  EXPECT_EQ(LoginBackoff(0), absl::ZeroDuration());
  EXPECT_EQ(LoginBackoff(1), absl::Seconds(1));
  EXPECT_EQ(LoginBackoff(3), absl::Seconds(4));
  EXPECT_EQ(LoginBackoff(40), absl::Minutes(5));
  UserRecord user;
  user.name = "alice";
  user.failed_attempts = 3;
  user.last_failure = TestNow();
  EXPECT_THAT(CheckLoginAllowed(user.throttle(), TestNow() + absl::Seconds(3)),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("try again in 1s")));
  EXPECT_THAT(CheckLoginAllowed(user.throttle(), TestNow() + absl::Seconds(4)), IsOk());
  user.locked = true;
  EXPECT_THAT(CheckLoginAllowed(user.throttle(), TestNow() + absl::Hours(100)),
              StatusIs(absl::StatusCode::kPermissionDenied, HasSubstr("locked")));
  // The guard's messages are the same for a name that is no user: they name neither.
  EXPECT_THAT(CheckLoginAllowed(user.throttle(), TestNow()),
              StatusIs(absl::StatusCode::kPermissionDenied, Not(HasSubstr("alice"))));
}

class LoginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteStore::Open(dir_.File("kura.db"));
    ASSERT_THAT(store, IsOk());
    store_ = std::move(*store);
    UserRecord alice;
    alice.name = "alice";
    alice.roles = {Role::kResearcher};
    alice.totp_secret = secret_;
    ASSERT_THAT(store_->CreateUser(alice), IsOk());
    terminal_ = {PeerRole::kTerminal,  "vdi-01",  TerminalClass::kDedicated,    "ab12",
                 std::string(64, 'c'), TestNow(), TestNow() + absl::Hours(1000)};
    ASSERT_THAT(
        store_->AddTerminal({"vdi-01", TerminalClass::kDedicated, "ab12", false, {}, TestNow()}),
        IsOk());
    sessions_ = std::make_unique<SessionManager>(*store_, SessionPolicy{});
    auth_ = std::make_unique<Authenticator>(*store_, *sessions_);
    auth_->AddFactor(std::make_unique<TotpFactor>(*store_));
  }
  LoginRequest Request(const std::string& code, const std::string& user = "alice") {
    return {user, terminal_, "totp", code};
  }
  std::string Code(absl::Time t) { return *ComputeTotp(secret_, TotpStepAt(t)); }
  // The audit details of the latest event.
  nlohmann::json LastAuditDetails() {
    auto events = store_->ListAuditEvents();
    EXPECT_THAT(events, IsOk());
    if (!events.ok() || events->empty()) return nlohmann::json::object();
    return nlohmann::json::parse(events->back().entry.details_json);
  }
  // The rows of the unknown-name throttle, read from the SQLite file itself.
  int64_t UnknownNameRows() {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(dir_.File("kura.db").c_str(), &db), SQLITE_OK);
    sqlite3_stmt* statement = nullptr;
    EXPECT_EQ(
        sqlite3_prepare_v2(db, "SELECT count(*) FROM unknown_login_names", -1, &statement, nullptr),
        SQLITE_OK);
    EXPECT_EQ(sqlite3_step(statement), SQLITE_ROW);
    int64_t rows = sqlite3_column_int64(statement, 0);
    sqlite3_finalize(statement);
    sqlite3_close(db);
    return rows;
  }

  TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<SessionManager> sessions_;
  std::unique_ptr<Authenticator> auth_;
  std::string secret_ = "abcdefghijabcdefghij";
  PeerIdentity terminal_;
};

TEST_F(LoginTest, GoodCodeGivesASessionAndIsAudited) {
  auto session = auth_->Login(Request(Code(TestNow())), TestNow());
  ASSERT_THAT(session, IsOk());
  EXPECT_EQ(session->token.size(), 43u);  // 256 bits in base64url
  EXPECT_THAT(sessions_->Validate(session->token, terminal_.fingerprint, TestNow()), IsOk());
  auto events = store_->ListAuditEvents();
  ASSERT_THAT(events, IsOk());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].entry.actor, "user:alice");
  EXPECT_EQ((*events)[0].entry.outcome, "ok");
  // The same code cannot log in twice; the caller is told no more than for a wrong code.
  EXPECT_THAT(auth_->Login(Request(Code(TestNow())), TestNow() + absl::Seconds(1)),
              StatusIs(absl::StatusCode::kUnauthenticated, std::string(kTotpLoginRefused)));
  EXPECT_EQ(LastAuditDetails()["cause"], "replayed");
  EXPECT_THAT(LastAuditDetails()["reason"].get<std::string>(), HasSubstr("already used"));
}

TEST_F(LoginTest, UnknownUserAndWrongCodeAreToldTheSameAndAuditedApart) {
  // Each at a fresh name or after the backoff, so both are refused by the factor check.
  absl::StatusOr<IssuedSession> wrong_code = auth_->Login(Request("000000"), TestNow());
  nlohmann::json wrong_code_audit = LastAuditDetails();
  absl::StatusOr<IssuedSession> unknown = auth_->Login(Request(Code(TestNow()), "bob"), TestNow());
  nlohmann::json unknown_audit = LastAuditDetails();

  EXPECT_THAT(wrong_code, StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_EQ(unknown.status().code(), wrong_code.status().code());
  EXPECT_EQ(unknown.status().message(), wrong_code.status().message());
  EXPECT_EQ(unknown.status().message(), kTotpLoginRefused);

  EXPECT_EQ(wrong_code_audit["cause"], "wrong_factor");
  EXPECT_THAT(wrong_code_audit["reason"].get<std::string>(), HasSubstr("wrong one-time code"));
  EXPECT_EQ(unknown_audit["cause"], "unknown_user");
  EXPECT_THAT(unknown_audit["reason"].get<std::string>(), HasSubstr("no user 'bob'"));
}

TEST_F(LoginTest, UnknownNamesBackOffAndLockExactlyLikeAUser) {
  // The same attempts, at the same times, under a user's name and under a name that is none:
  // every answer must be the same, through backoff, lockout and after it.
  const absl::Duration offsets[] = {absl::Seconds(0),  absl::Seconds(0),  absl::Seconds(1),
                                    absl::Seconds(2),  absl::Seconds(4),  absl::Seconds(8),
                                    absl::Seconds(16), absl::Seconds(40), absl::Minutes(10),
                                    absl::Minutes(20), absl::Hours(5),    absl::Hours(10)};
  int backoffs = 0;
  for (absl::Duration offset : offsets) {
    absl::Time t = TestNow() + offset;
    absl::Status user = auth_->Login(Request("000000", "alice"), t).status();
    absl::Status nobody = auth_->Login(Request("000000", "mallory"), t).status();
    EXPECT_EQ(nobody.code(), user.code()) << offset;
    EXPECT_EQ(nobody.message(), user.message()) << offset;
    backoffs += absl::IsResourceExhausted(user) ? 1 : 0;
  }
  EXPECT_GT(backoffs, 0);  // the sequence did run into the backoff
  KURA_ASSERT_OK_AND_ASSIGN(UserRecord alice, store_->GetUser("alice"));
  EXPECT_TRUE(alice.locked);
  KURA_ASSERT_OK_AND_ASSIGN(LoginThrottle mallory, store_->GetUnknownNameThrottle("mallory"));
  EXPECT_TRUE(mallory.locked);
  EXPECT_EQ(mallory.failed_attempts, alice.failed_attempts);
}

TEST_F(LoginTest, UnknownNameThrottleKeepsABoundedNumberOfNames) {
  Authenticator auth(*store_, *sessions_, LoginGuardPolicy{.unknown_names_kept = 8});
  auth.AddFactor(std::make_unique<TotpFactor>(*store_));
  absl::Time t = TestNow();
  // A locked name is kept while names that only failed once come and go.
  for (int i = 0; i < 5; ++i) {
    t += absl::Hours(1);
    ASSERT_THAT(auth.Login(Request("000000", "mallory"), t),
                StatusIs(absl::StatusCode::kUnauthenticated));
  }
  for (int i = 0; i < 200; ++i) {
    t += absl::Seconds(1);
    ASSERT_THAT(auth.Login(Request("000000", absl::StrCat("probe-", i)), t),
                StatusIs(absl::StatusCode::kUnauthenticated));
  }
  EXPECT_EQ(UnknownNameRows(), 8);
  KURA_ASSERT_OK_AND_ASSIGN(LoginThrottle mallory, store_->GetUnknownNameThrottle("mallory"));
  EXPECT_TRUE(mallory.locked);
  KURA_ASSERT_OK_AND_ASSIGN(LoginThrottle latest, store_->GetUnknownNameThrottle("probe-199"));
  EXPECT_EQ(latest.failed_attempts, 1);
  KURA_ASSERT_OK_AND_ASSIGN(LoginThrottle oldest, store_->GetUnknownNameThrottle("probe-0"));
  EXPECT_EQ(oldest.failed_attempts, 0);  // forgotten
  // A name of any length costs one fixed-size row.
  ASSERT_THAT(auth.Login(Request("000000", std::string(100000, 'x')), t + absl::Seconds(1)),
              StatusIs(absl::StatusCode::kUnauthenticated, std::string(kTotpLoginRefused)));
  EXPECT_EQ(UnknownNameRows(), 8);
}

TEST_F(LoginTest, BrokerAssertionForANameThatIsNoUserIsToldLikeAForgery) {
  KURA_ASSERT_OK_AND_ASSIGN(Ed25519KeyPair broker, Ed25519GenerateKeyPair());
  KURA_ASSERT_OK_AND_ASSIGN(Ed25519KeyPair forger, Ed25519GenerateKeyPair());
  auth_->AddFactor(std::make_unique<BrokerAssertionFactor>(*store_, broker.public_key));
  auto request = [&](const std::string& user, const std::string& nonce, const Ed25519KeyPair& key,
                     absl::Time t) {
    auto assertion =
        SignBrokerAssertion({user, "vdi-01", absl::ToUnixSeconds(t), nonce, ""}, key.private_key);
    EXPECT_THAT(assertion, IsOk());
    return LoginRequest{user, terminal_, "vdi-broker", EncodeBrokerAssertion(*assertion)};
  };
  // The broker vouches for a name that is no user; a forger signs for a user.
  absl::Status unknown =
      auth_->Login(request("bob", "nonce-000000000001", broker, TestNow()), TestNow()).status();
  EXPECT_EQ(LastAuditDetails()["cause"], "unknown_user");
  absl::Status forged =
      auth_->Login(request("alice", "nonce-000000000002", forger, TestNow()), TestNow()).status();
  EXPECT_EQ(LastAuditDetails()["cause"], "wrong_factor");
  EXPECT_THAT(unknown,
              StatusIs(absl::StatusCode::kUnauthenticated, std::string(kBrokerLoginRefused)));
  EXPECT_EQ(forged, unknown);
  absl::Time later = TestNow() + absl::Seconds(1);
  EXPECT_THAT(auth_->Login(request("alice", "nonce-000000000003", broker, later), later), IsOk());
}

TEST_F(LoginTest, FiveFailuresLockUntilAnOperatorUnlocks) {
  absl::Time t = TestNow();
  for (int i = 1; i <= 5; ++i) {
    t += absl::Minutes(10);  // past any backoff
    auto result = auth_->Login(Request("000000"), t);
    EXPECT_THAT(result,
                StatusIs(absl::StatusCode::kUnauthenticated, std::string(kTotpLoginRefused)))
        << i;
  }
  EXPECT_THAT(LastAuditDetails()["reason"].get<std::string>(),
              HasSubstr("now locked after 5 failed attempts"));
  t += absl::Minutes(10);
  // Even the right code is refused, with the message of a wrong code: "locked" would tell that
  // the name exists (names that are no user lock too, but an attacker need not know that).
  EXPECT_THAT(auth_->Login(Request(Code(t)), t),
              StatusIs(absl::StatusCode::kUnauthenticated, std::string(kTotpLoginRefused)));
  EXPECT_EQ(LastAuditDetails()["cause"], "locked");
  ASSERT_THAT(store_->SetUserLocked("alice", false), IsOk());
  EXPECT_THAT(auth_->Login(Request(Code(t)), t), IsOk());
  auto events = store_->ListAuditEvents();
  ASSERT_THAT(events, IsOk());
  EXPECT_EQ(events->size(), 7u);  // five failures, one refusal while locked, one success
}

TEST_F(LoginTest, BackoffRefusesEvenTheRightCode) {
  ASSERT_THAT(auth_->Login(Request("000000"), TestNow()).status(),
              StatusIs(absl::StatusCode::kUnauthenticated));
  ASSERT_THAT(auth_->Login(Request("000000"), TestNow() + absl::Seconds(2)).status(),
              StatusIs(absl::StatusCode::kUnauthenticated));
  absl::Time soon = TestNow() + absl::Seconds(3);  // second failure: wait 2 s from 2 s
  EXPECT_THAT(auth_->Login(Request(Code(soon)), soon),
              StatusIs(absl::StatusCode::kResourceExhausted));
  absl::Time later = TestNow() + absl::Seconds(4);
  EXPECT_THAT(auth_->Login(Request(Code(later)), later), IsOk());
}

TEST_F(LoginTest, TerminalAndRequestRefusals) {
  PeerIdentity other_cert = terminal_;
  other_cert.serial = "ffff";
  PeerIdentity unknown = terminal_;
  unknown.id = "vdi-99";
  PeerIdentity node = terminal_;
  node.role = PeerRole::kNode;
  struct Case {
    const char* name;
    LoginRequest request;
    absl::StatusCode code;
    const char* error;
  };
  const Case cases[] = {
      {"unregistered terminal",
       {"alice", unknown, "totp", "1"},
       absl::StatusCode::kUnauthenticated,
       "not registered"},
      {"replaced certificate",
       {"alice", other_cert, "totp", "1"},
       absl::StatusCode::kUnauthenticated,
       "not the one registered"},
      {"node certificate",
       {"alice", node, "totp", "1"},
       absl::StatusCode::kUnauthenticated,
       "terminal certificates only"},
      {"unknown user",
       {"bob", terminal_, "totp", "1"},
       absl::StatusCode::kUnauthenticated,
       "unknown user or wrong code"},
      {"unknown factor",
       {"alice", terminal_, "password", "1"},
       absl::StatusCode::kInvalidArgument,
       "unknown second factor"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(auth_->Login(c.request, TestNow()), StatusIs(c.code, HasSubstr(c.error))) << c.name;
  }
  ASSERT_THAT(store_->RevokeTerminal("vdi-01", TestNow()), IsOk());
  EXPECT_THAT(auth_->Login(Request(Code(TestNow())), TestNow()),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("revoked")));
  auto user = store_->GetUser("alice");
  ASSERT_THAT(user, IsOk());
  EXPECT_EQ(user->failed_attempts, 0);  // only a wrong factor counts against the user
}

class SessionTest : public LoginTest {};

TEST_F(SessionTest, TokenIsBoundExpiresAndEnds) {
  SessionPolicy policy{absl::Minutes(15), absl::Hours(12)};
  SessionManager sessions(*store_, policy);
  auto issued = sessions.Create("alice", terminal_, TestNow());
  ASSERT_THAT(issued, IsOk());
  const std::string& token = issued->token;
  const std::string& fp = terminal_.fingerprint;
  EXPECT_EQ(issued->record.token_hash, SessionManager::HashToken(token));
  EXPECT_THAT(store_->GetSessionByTokenHash(token), StatusIs(absl::StatusCode::kNotFound));

  struct Case {
    const char* name;
    std::string token;
    std::string fingerprint;
    absl::Duration at;
    const char* error;  // nullptr: accepted
  };
  // Each accepted use restarts the idle clock; the cases run in order.
  const Case cases[] = {
      {"fresh", token, fp, absl::Minutes(1), nullptr},
      {"other terminal", token, std::string(64, 'd'), absl::Minutes(2), "another terminal"},
      {"no token", "", fp, absl::Minutes(2), "no session token"},
      {"unknown token", "AAAA", fp, absl::Minutes(2), "unknown session token"},
      {"just inside idle", token, fp, absl::Minutes(15), nullptr},
      {"idle too long", token, fp, absl::Minutes(31), "idle"},
  };
  for (const Case& c : cases) {
    auto result = sessions.Validate(c.token, c.fingerprint, TestNow() + c.at);
    if (c.error == nullptr) {
      EXPECT_THAT(result, IsOk()) << c.name;
    } else {
      EXPECT_THAT(result, StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr(c.error)))
          << c.name;
    }
  }

  auto busy = sessions.Create("alice", terminal_, TestNow());
  ASSERT_THAT(busy, IsOk());
  absl::Time t = TestNow();
  for (int i = 0; i < 12 * 6 - 1; ++i) {
    t += absl::Minutes(10);
    ASSERT_THAT(sessions.Validate(busy->token, fp, t), IsOk()) << i;
  }
  EXPECT_THAT(sessions.Validate(busy->token, fp, TestNow() + absl::Hours(12)),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("lifetime")));

  auto logout = sessions.Create("alice", terminal_, TestNow());
  ASSERT_THAT(logout, IsOk());
  ASSERT_THAT(sessions.Logout(logout->token), IsOk());
  EXPECT_THAT(sessions.Validate(logout->token, fp, TestNow()),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("ended")));
  EXPECT_THAT(sessions.Logout("nope"), StatusIs(absl::StatusCode::kUnauthenticated));

  auto revoked = sessions.Create("alice", terminal_, TestNow());
  ASSERT_THAT(revoked, IsOk());
  ASSERT_THAT(store_->RevokeSession(revoked->record.id), IsOk());
  EXPECT_THAT(sessions.Validate(revoked->token, fp, TestNow()),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("revoked")));
  PeerIdentity node = terminal_;
  node.role = PeerRole::kNode;
  EXPECT_THAT(sessions.Create("alice", node, TestNow()),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace kura::gateway
