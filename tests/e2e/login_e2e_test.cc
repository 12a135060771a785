// Who may reach the gateway at all, and how a person logs in: certificates, second factors,
// lockout and sessions, each against a real kura-gateway process over mutual TLS.

#include <grpcpp/create_channel.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "gateway/broker_assertion.h"
#include "gateway/login.h"
#include "gateway/pki_files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/status_matchers.h"
#include "tests/e2e/stack.h"

namespace kura::e2e {
namespace {

using gateway::TerminalClass;
using ::testing::HasSubstr;

grpc::Status ListProjects(Stack& stack, const TlsIdentity& terminal, const std::string& token,
                          kura::v1::ListProjectsResponse* response = nullptr) {
  kura::v1::ListProjectsResponse ignored;
  auto context = CallContext(token);
  return stack.Researcher(terminal)->ListProjects(context.get(), {},
                                                  response ? response : &ignored);
}

grpc::Status LoginWithCode(Stack& stack, const TlsIdentity& terminal, const std::string& user,
                           const std::string& code) {
  kura::v1::LoginRequest request;
  request.set_user(user);
  request.set_totp_code(code);
  kura::v1::LoginResponse response;
  auto context = CallContext();
  return stack.Researcher(terminal)->Login(context.get(), request, &response);
}

class LoginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    stack_.AddResearcher("alice", {"cancer-2026"});
    stack_.AddResearcher("bob", {"diabetes-2026"});
    terminal_ = stack_.Terminal("vdi-01", TerminalClass::kStandard);
  }
  void Start(const std::vector<std::string>& flags = {"--login-backoff-ms", "10"}) {
    ASSERT_TRUE(stack_.StartGateway(flags).ok());
  }

  // The `cause` of the latest login event in the audit log.
  std::string LastLoginCause() {
    absl::StatusOr<std::vector<gateway::AuditEvent>> events = stack_.store().ListAuditEvents();
    EXPECT_TRUE(events.ok()) << events.status();
    if (!events.ok()) return "";
    for (auto it = events->rbegin(); it != events->rend(); ++it) {
      if (it->entry.action != "login") continue;
      return nlohmann::json::parse(it->entry.details_json).value("cause", "");
    }
    return "";
  }

  Stack stack_;
  TlsIdentity terminal_;
};

TEST_F(LoginTest, TotpLoginGivesSessionThatSeesOnlyOwnProjects) {
  Start();
  absl::StatusOr<std::string> token = stack_.Login(terminal_, "alice");
  ASSERT_TRUE(token.ok()) << token.status();
  kura::v1::ListProjectsResponse projects;
  ASSERT_TRUE(ListProjects(stack_, terminal_, *token, &projects).ok());
  ASSERT_EQ(projects.projects_size(), 1);
  EXPECT_EQ(projects.projects(0).name(), "cancer-2026");
}

TEST_F(LoginTest, NoClientCertificateIsRefused) {
  Start();
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = stack_.ca().certificate_pem;
  auto stub = kura::v1::Researcher::NewStub(
      grpc::CreateChannel(stack_.address(), grpc::SslCredentials(options)));
  kura::v1::LoginRequest request;
  request.set_user("alice");
  request.set_totp_code(stack_.CurrentTotp("alice"));
  kura::v1::LoginResponse response;
  auto context = CallContext();
  grpc::Status status = stub->Login(context.get(), request, &response);
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(status.error_code() == grpc::StatusCode::UNAVAILABLE ||
              status.error_code() == grpc::StatusCode::UNAUTHENTICATED)
      << status.error_message();
}

TEST_F(LoginTest, CertificateFromAnotherCaIsRefused) {
  Start();
  grpc::Status status =
      LoginWithCode(stack_, stack_.Foreign("vdi-01"), "alice", stack_.CurrentTotp("alice"));
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.error_code(), grpc::StatusCode::OK);
}

TEST_F(LoginTest, ExpiredTerminalCertificateIsRefused) {
  Start();
  const absl::Time now = absl::Now();
  TlsIdentity expired =
      stack_.TerminalValidBetween("vdi-old", now - absl::Hours(48), now - absl::Hours(24));
  grpc::Status status = LoginWithCode(stack_, expired, "alice", stack_.CurrentTotp("alice"));
  EXPECT_FALSE(status.ok());
}

TEST_F(LoginTest, RevokedTerminalIsRefusedAtOnceEvenWithASession) {
  Start();
  absl::StatusOr<std::string> token = stack_.Login(terminal_, "alice");
  ASSERT_TRUE(token.ok()) << token.status();
  ASSERT_TRUE(stack_.store().RevokeTerminal("vdi-01", absl::Now()).ok());
  grpc::Status status = ListProjects(stack_, terminal_, *token);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("revoked"));
  EXPECT_EQ(LoginWithCode(stack_, terminal_, "alice", stack_.FreshTotp("alice")).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(LoginTest, UnregisteredTerminalIsRefused) {
  Start();
  TlsIdentity stranger = stack_.Terminal("vdi-unknown", TerminalClass::kStandard, false);
  grpc::Status status = LoginWithCode(stack_, stranger, "alice", stack_.FreshTotp("alice"));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("not registered"));
}

TEST_F(LoginTest, WrongAndReusedCodesAreRefused) {
  Start();
  const std::string right = stack_.FreshTotp("alice");
  const std::string wrong = right == "000000" ? "111111" : "000000";
  EXPECT_EQ(LoginWithCode(stack_, terminal_, "alice", wrong).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  // The backoff after one failure is 10 ms here; poll past it.
  grpc::Status first;
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  do {
    first = LoginWithCode(stack_, terminal_, "alice", right);
  } while (first.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED && absl::Now() < deadline);
  ASSERT_TRUE(first.ok()) << first.error_message();
  grpc::Status reused = LoginWithCode(stack_, terminal_, "alice", right);
  EXPECT_EQ(reused.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(LoginTest, FailedFactorsAreRateLimited) {
  Start({"--login-backoff-ms", "60000"});  // a window no slow machine can miss
  const std::string right = stack_.FreshTotp("alice");
  const std::string wrong = right == "000000" ? "111111" : "000000";
  EXPECT_EQ(LoginWithCode(stack_, terminal_, "alice", wrong).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  grpc::Status hurried = LoginWithCode(stack_, terminal_, "alice", right);
  EXPECT_EQ(hurried.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << hurried.error_message();
}

TEST_F(LoginTest, FiveFailuresLockTheAccountUntilAnOperatorUnlocks) {
  Start();
  int failures = 0;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (failures < 5 && absl::Now() < deadline) {
    grpc::Status status = LoginWithCode(stack_, terminal_, "alice", "999999x");
    if (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) continue;  // backing off
    ASSERT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED) << status.error_message();
    ++failures;
  }
  ASSERT_EQ(failures, 5);
  // Now even the right code is refused: the account is locked. The caller is told what a wrong
  // code is told (saying "locked" would tell that the name exists); the audit log says why.
  grpc::Status locked = LoginWithCode(stack_, terminal_, "alice", stack_.FreshTotp("alice"));
  EXPECT_EQ(locked.error_code(), grpc::StatusCode::UNAUTHENTICATED) << locked.error_message();
  EXPECT_EQ(locked.error_message(), gateway::kTotpLoginRefused);
  EXPECT_EQ(LastLoginCause(), "locked");
  ASSERT_TRUE(stack_.store().SetUserLocked("alice", false).ok());
  EXPECT_TRUE(stack_.Login(terminal_, "alice").ok());
}

TEST_F(LoginTest, AnUnknownUserIsToldWhatAWrongCodeIsTold) {
  Start();
  const std::string right = stack_.FreshTotp("alice");
  const std::string wrong = right == "000000" ? "111111" : "000000";
  grpc::Status wrong_code = LoginWithCode(stack_, terminal_, "alice", wrong);
  const std::string wrong_code_cause = LastLoginCause();
  grpc::Status unknown = LoginWithCode(stack_, terminal_, "mallory", right);
  const std::string unknown_cause = LastLoginCause();
  EXPECT_EQ(wrong_code.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(unknown.error_code(), wrong_code.error_code());
  EXPECT_EQ(unknown.error_message(), wrong_code.error_message());
  EXPECT_EQ(unknown.error_message(), gateway::kTotpLoginRefused);
  EXPECT_EQ(wrong_code_cause, "wrong_factor");
  EXPECT_EQ(unknown_cause, "unknown_user");
  // An unknown name backs off like a user who failed once.
  stack_.StopGateway();
  Start({"--login-backoff-ms", "60000"});
  EXPECT_EQ(LoginWithCode(stack_, terminal_, "eve", wrong).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  grpc::Status hurried = LoginWithCode(stack_, terminal_, "eve", right);
  EXPECT_EQ(hurried.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << hurried.error_message();
}

TEST_F(LoginTest, TokenFromAnotherTerminalIsRefused) {
  Start();
  TlsIdentity other = stack_.Terminal("vdi-02", TerminalClass::kStandard);
  absl::StatusOr<std::string> token = stack_.Login(terminal_, "alice");
  ASSERT_TRUE(token.ok()) << token.status();
  grpc::Status status = ListProjects(stack_, other, *token);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_TRUE(ListProjects(stack_, terminal_, *token).ok());
}

TEST_F(LoginTest, MissingForgedAndLoggedOutTokensAreRefused) {
  Start();
  EXPECT_EQ(ListProjects(stack_, terminal_, "").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ListProjects(stack_, terminal_, "kura_forged").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  absl::StatusOr<std::string> token = stack_.Login(terminal_, "alice");
  ASSERT_TRUE(token.ok()) << token.status();
  kura::v1::LogoutResponse out;
  auto context = CallContext(*token);
  ASSERT_TRUE(stack_.Researcher(terminal_)->Logout(context.get(), {}, &out).ok());
  EXPECT_EQ(ListProjects(stack_, terminal_, *token).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(LoginTest, OperatorRevokedSessionIsRefused) {
  Start();
  absl::StatusOr<std::string> token = stack_.Login(terminal_, "alice");
  ASSERT_TRUE(token.ok()) << token.status();
  ASSERT_TRUE(stack_.store().RevokeUserSessions("alice").ok());
  EXPECT_EQ(ListProjects(stack_, terminal_, *token).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(LoginTest, IdleSessionExpires) {
  Start({"--session-idle-timeout", "1"});
  absl::StatusOr<std::string> token = stack_.Login(terminal_, "alice");
  ASSERT_TRUE(token.ok()) << token.status();
  // Poll (not a fixed sleep) until the idle timeout has passed, each try from a new session so
  // that the polling itself does not keep one alive.
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  absl::Time logged_in = absl::Now();
  while (absl::Now() - logged_in < absl::Seconds(2) && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  grpc::Status status = ListProjects(stack_, terminal_, *token);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("idle"));
}

TEST_F(LoginTest, SessionEndsAtItsAbsoluteLifetimeDespiteActivity) {
  Start({"--session-lifetime", "2"});
  absl::StatusOr<std::string> token = stack_.Login(terminal_, "alice");
  ASSERT_TRUE(token.ok()) << token.status();
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  grpc::Status status;
  do {
    status = ListProjects(stack_, terminal_, *token);
    absl::SleepFor(absl::Milliseconds(200));
  } while (status.ok() && absl::Now() < deadline);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(LoginTest, TerminalCertificateCannotActAsNodeNorNodeAsTerminal) {
  Start();
  kura::v1::RegisterNodeRequest request;
  request.set_address("127.0.0.1:1");
  request.mutable_capacity()->set_cpus(4);
  kura::v1::RegisterNodeResponse response;
  auto context = CallContext();
  grpc::Status as_node = stack_.Registry(terminal_)->Register(context.get(), request, &response);
  EXPECT_EQ(as_node.error_code(), grpc::StatusCode::UNAUTHENTICATED) << as_node.error_message();
  EXPECT_THAT(as_node.error_message(), HasSubstr("certificate refused"));

  grpc::Status as_terminal =
      LoginWithCode(stack_, stack_.Node("n1"), "alice", stack_.FreshTotp("alice"));
  EXPECT_EQ(as_terminal.error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

class BrokerLoginTest : public LoginTest {
 protected:
  void SetUp() override {
    LoginTest::SetUp();
    absl::StatusOr<Ed25519KeyPair> broker = Ed25519GenerateKeyPair();
    ASSERT_TRUE(broker.ok());
    broker_ = *broker;
    ASSERT_TRUE(gateway::WriteNewFile(stack_.pki_dir() + "/vdi-broker.pub",
                                      HexEncode(broker_.public_key) + "\n", 0644)
                    .ok());
    Start();
  }

  kura::v1::LoginRequest Assertion(const std::string& private_key, absl::Time issued,
                                   const std::string& nonce, const std::string& user = "alice") {
    gateway::BrokerAssertion assertion{user, "vdi-01", absl::ToUnixSeconds(issued), nonce, ""};
    absl::StatusOr<gateway::BrokerAssertion> signed_assertion =
        gateway::SignBrokerAssertion(assertion, private_key);
    EXPECT_TRUE(signed_assertion.ok());
    kura::v1::LoginRequest request;
    request.set_user(user);
    kura::v1::BrokerAssertion* wire = request.mutable_broker_assertion();
    wire->set_user(signed_assertion->user);
    wire->set_terminal_id(signed_assertion->terminal_id);
    wire->set_issued_unix(signed_assertion->time_unix_seconds);
    wire->set_nonce(signed_assertion->nonce);
    wire->set_signature(signed_assertion->signature);
    return request;
  }

  grpc::Status Send(const kura::v1::LoginRequest& request) {
    kura::v1::LoginResponse response;
    auto context = CallContext();
    return stack_.Researcher(terminal_)->Login(context.get(), request, &response);
  }

  // Each refusal counts as a failure with a backoff; poll past it.
  grpc::Status SendPatiently(const kura::v1::LoginRequest& request) {
    grpc::Status status;
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    do {
      status = Send(request);
    } while (status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
             absl::Now() < deadline);
    return status;
  }

  Ed25519KeyPair broker_;
};

TEST_F(BrokerLoginTest, FreshAssertionLogsInOnceAndItsReplayIsRefused) {
  kura::v1::LoginRequest request = Assertion(broker_.private_key, absl::Now(),
                                             "nonce-0123456789abcdef");
  grpc::Status first = SendPatiently(request);
  ASSERT_TRUE(first.ok()) << first.error_message();
  grpc::Status replay = SendPatiently(request);
  EXPECT_EQ(replay.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(replay.error_message(), gateway::kBrokerLoginRefused);
  EXPECT_EQ(LastLoginCause(), "replayed");
}

TEST_F(BrokerLoginTest, AnAssertionForANameThatIsNoUserIsToldLikeAForgery) {
  absl::StatusOr<Ed25519KeyPair> forger = Ed25519GenerateKeyPair();
  ASSERT_TRUE(forger.ok());
  grpc::Status unknown =
      SendPatiently(Assertion(broker_.private_key, absl::Now(), "nonce-nobody-00000001", "nobody"));
  EXPECT_EQ(LastLoginCause(), "unknown_user");
  grpc::Status forged =
      SendPatiently(Assertion(forger->private_key, absl::Now(), "nonce-forged-000000002"));
  EXPECT_EQ(LastLoginCause(), "wrong_factor");
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(unknown.error_code(), forged.error_code());
  EXPECT_EQ(unknown.error_message(), forged.error_message());
  EXPECT_EQ(unknown.error_message(), gateway::kBrokerLoginRefused);
}

TEST_F(BrokerLoginTest, ForgedAndStaleAssertionsAreRefused) {
  absl::StatusOr<Ed25519KeyPair> forger = Ed25519GenerateKeyPair();
  ASSERT_TRUE(forger.ok());
  EXPECT_EQ(SendPatiently(Assertion(forger->private_key, absl::Now(), "nonce-forged-000000001"))
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(SendPatiently(Assertion(broker_.private_key, absl::Now() - absl::Minutes(5),
                                    "nonce-stale-0000000001"))
                .error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  kura::v1::LoginRequest tampered =
      Assertion(broker_.private_key, absl::Now(), "nonce-tamper-00000001");
  tampered.mutable_broker_assertion()->set_terminal_id("vdi-02");
  EXPECT_EQ(SendPatiently(tampered).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace
}  // namespace kura::e2e
