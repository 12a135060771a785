#include "gateway/factor.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "gateway/broker_assertion.h"
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

TEST(TotpTest, MatchesRfc6238TestVectors) {
  // RFC 6238 appendix B: 8-digit codes with the seeds for SHA-1, SHA-256 and SHA-512.
  const std::string sha1_seed = "12345678901234567890";
  const std::string sha256_seed = "12345678901234567890123456789012";
  const std::string sha512_seed =
      "1234567890123456789012345678901234567890123456789012345678901234";
  struct Case {
    int64_t unix_seconds;
    const char* sha1;
    const char* sha256;
    const char* sha512;
  };
  const Case cases[] = {
      {59, "94287082", "46119246", "90693936"},
      {1111111109, "07081804", "68084774", "25091201"},
      {1111111111, "14050471", "67062674", "99943326"},
      {1234567890, "89005924", "91819424", "93441116"},
      {2000000000, "69279037", "90698825", "38618901"},
      {20000000000, "65353130", "77737706", "47863826"},
  };
  for (const Case& c : cases) {
    absl::Time t = absl::FromUnixSeconds(c.unix_seconds);
    struct Digest {
      const char* name;
      const std::string& seed;
      const char* expected;
    };
    for (const Digest& d :
         {Digest{"SHA1", sha1_seed, c.sha1}, Digest{"SHA256", sha256_seed, c.sha256},
          Digest{"SHA512", sha512_seed, c.sha512}}) {
      TotpParameters params{.digits = 8, .digest = d.name};
      EXPECT_THAT(ComputeTotp(d.seed, TotpStepAt(t, params), params),
                  ::kura::gateway::testing::IsOkAndHolds(std::string(d.expected)))
          << d.name << " at " << c.unix_seconds;
    }
    // The gateway's 6-digit codes are the last six digits of the same value.
    EXPECT_THAT(ComputeTotp(sha1_seed, TotpStepAt(t)),
                ::kura::gateway::testing::IsOkAndHolds(std::string(c.sha1).substr(2)));
  }
}

TEST(TotpTest, AcceptsOneStepOfDriftEitherWay) {
  const std::string secret = "12345678901234567890";
  absl::Time now = absl::FromUnixSeconds(1111111111);  // step 37037037
  int64_t center = TotpStepAt(now);
  struct Case {
    int64_t offset;
    bool accepted;
  };
  for (const Case& c :
       {Case{-2, false}, Case{-1, true}, Case{0, true}, Case{1, true}, Case{2, false}}) {
    auto code = ComputeTotp(secret, center + c.offset);
    ASSERT_THAT(code, IsOk());
    auto step = FindTotpStep(secret, *code, now);
    if (c.accepted) {
      EXPECT_THAT(step, ::kura::gateway::testing::IsOkAndHolds(center + c.offset));
    } else {
      EXPECT_THAT(step, StatusIs(absl::StatusCode::kUnauthenticated)) << c.offset;
    }
  }
  EXPECT_THAT(FindTotpStep(secret, "12345", now),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("6 digits")));
  EXPECT_THAT(FindTotpStep(secret, "12a456", now), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(TotpProvisioningUri("kura", "alice", "12345678901234567890"),
              "otpauth://totp/kura:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=kura&"
              "algorithm=SHA1&digits=6&period=30");
}

class FactorTest : public ::testing::Test {
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
    auto keys = Ed25519GenerateKeyPair();
    ASSERT_THAT(keys, IsOk());
    broker_ = *keys;
  }
  std::string Code(absl::Time t) { return *ComputeTotp(secret_, TotpStepAt(t)); }
  std::string Assertion(const std::string& user, const std::string& terminal, absl::Time t,
                        const std::string& nonce, const std::string& key) {
    auto signed_assertion =
        SignBrokerAssertion({user, terminal, absl::ToUnixSeconds(t), nonce, ""}, key);
    EXPECT_THAT(signed_assertion, IsOk());
    return EncodeBrokerAssertion(*signed_assertion);
  }

  TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
  std::string secret_ = "12345678901234567890";
  Ed25519KeyPair broker_;
};

TEST_F(FactorTest, TotpCodeWorksOnceAndSurvivesRestart) {
  TotpFactor totp(*store_);
  FactorChallenge now{"alice", "vdi-01", TestNow()};
  EXPECT_THAT(totp.Verify(now, Code(TestNow())), IsOk());
  EXPECT_THAT(totp.Verify(now, Code(TestNow())),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("already used")));
  // The previous step's code is still inside the window but older than the one used.
  EXPECT_THAT(totp.Verify(now, Code(TestNow() - absl::Seconds(30))),
              StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("already used")));
  EXPECT_THAT(totp.Verify(now, "000000"), StatusIs(absl::StatusCode::kUnauthenticated));
  EXPECT_THAT(totp.Verify({"bob", "vdi-01", TestNow()}, Code(TestNow())),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("no user 'bob'")));

  store_.reset();
  auto reopened = SqliteStore::Open(dir_.File("kura.db"));
  ASSERT_THAT(reopened, IsOk());
  TotpFactor after(**reopened);
  EXPECT_THAT(after.Verify(now, Code(TestNow())), StatusIs(absl::StatusCode::kAlreadyExists));
  FactorChallenge next{"alice", "vdi-01", TestNow() + absl::Seconds(30)};
  EXPECT_THAT(after.Verify(next, Code(next.now)), IsOk());
}

TEST_F(FactorTest, BrokerAssertionCases) {
  BrokerAssertionFactor broker(*store_, broker_.public_key);
  auto forger = Ed25519GenerateKeyPair();
  ASSERT_THAT(forger, IsOk());
  std::string valid =
      Assertion("alice", "vdi-01", TestNow(), "nonce-000000000001", broker_.private_key);
  auto tampered = ParseBrokerAssertion(valid);
  ASSERT_THAT(tampered, IsOk());
  tampered->user = "bob";
  struct Case {
    const char* name;
    std::string proof;
    const char* error;  // nullptr: accepted
    absl::StatusCode code = absl::StatusCode::kUnauthenticated;
  };
  const Case cases[] = {
      {"valid", valid, nullptr},
      {"replayed", valid, "already used", absl::StatusCode::kAlreadyExists},
      {"forged key",
       Assertion("alice", "vdi-01", TestNow(), "nonce-000000000002", forger->private_key),
       "not signed by the registered VDI broker"},
      {"edited after signing", EncodeBrokerAssertion(*tampered), "not signed"},
      {"stale",
       Assertion("alice", "vdi-01", TestNow() - absl::Seconds(61), "nonce-000000000003",
                 broker_.private_key),
       "stale"},
      {"from the future",
       Assertion("alice", "vdi-01", TestNow() + absl::Seconds(61), "nonce-000000000004",
                 broker_.private_key),
       "in the future"},
      {"other terminal",
       Assertion("alice", "vdi-02", TestNow(), "nonce-000000000005", broker_.private_key),
       "for terminal 'vdi-02'"},
      {"other user",
       Assertion("bob", "vdi-01", TestNow(), "nonce-000000000006", broker_.private_key),
       "vouches for 'bob'"},
      {"59 s old",
       Assertion("alice", "vdi-01", TestNow() - absl::Seconds(59), "nonce-000000000007",
                 broker_.private_key),
       nullptr},
      {"not JSON", "hello", "malformed"},
      {"short nonce", R"({"user":"alice","terminal":"vdi-01","time":1,"nonce":"x","signature":""})",
       "nonce"},
  };
  for (const Case& c : cases) {
    absl::Status status = broker.Verify({"alice", "vdi-01", TestNow()}, c.proof);
    if (c.error == nullptr) {
      EXPECT_THAT(status, IsOk()) << c.name;
    } else {
      EXPECT_THAT(status, StatusIs(c.code, HasSubstr(c.error))) << c.name;
    }
  }
}

TEST(BrokerAssertionFormatTest, SignedBytesAreTheDocumentedForm) {
  BrokerAssertion assertion{"alice", "vdi-01", 1774000000, "0123456789abcdef", ""};
  EXPECT_THAT(BrokerAssertionSignedBytes(assertion),
              ::kura::gateway::testing::IsOkAndHolds(std::string(
                  "kura-vdi-assertion-v1\nuser=alice\nterminal=vdi-01\ntime=1774000000\n"
                  "nonce=0123456789abcdef\n")));
  assertion.user = "alice\nterminal=x";
  EXPECT_THAT(BrokerAssertionSignedBytes(assertion),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("assertion user")));
}

}  // namespace
}  // namespace kura::gateway
