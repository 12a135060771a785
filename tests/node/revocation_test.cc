// kura-node holds the gateway to the revocation list kura's CA signed (`--crl`): a revoked
// gateway certificate is refused on the node's service and not obeyed on registration, a new
// list takes effect without a restart, and a list the CA did not sign, or an expired one, is
// refused at start and ignored on reload.

#include "node/revocation.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "gateway/crl.h"
#include "gateway/pki.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kura/v1/gateway.grpc.pb.h"
#include "tests/node/node_test_env.h"

namespace kura::node {
namespace {

using ::kura::node::testing::Eventually;
using ::kura::node::testing::NodeTestEnv;
using ::kura::node::testing::ReadFile;
using ::kura::node::testing::WriteFile;
using ::testing::HasSubstr;

std::string SerialOf(const gateway::KeyAndCertificate& who) {
  auto identity = gateway::ParsePeerIdentity(who.certificate_pem);
  EXPECT_TRUE(identity.ok()) << identity.status();
  return identity.ok() ? identity->serial : "";
}

std::string Crl(const gateway::KeyAndCertificate& ca, const std::vector<std::string>& serials,
                absl::Time this_update = absl::Now(), absl::Duration validity = absl::Hours(1)) {
  auto pem = gateway::BuildRevocationList(ca, serials, this_update, this_update + validity);
  EXPECT_TRUE(pem.ok()) << pem.status();
  return pem.ok() ? *pem : "";
}

gateway::KeyAndCertificate OtherCa() {
  auto ca = gateway::CreateCertificateAuthority("kura test CA", absl::Now(), absl::Hours(24));
  EXPECT_TRUE(ca.ok()) << ca.status();
  return ca.ok() ? *ca : gateway::KeyAndCertificate();
}

// Replaces the file the way an operator should: whole, by rename.
void Publish(const std::string& path, const std::string& pem) {
  WriteFile(path + ".tmp", pem);
  ASSERT_EQ(::rename((path + ".tmp").c_str(), path.c_str()), 0);
}

grpc::Status Inventory(NodeTestEnv& env) {
  auto stub = env.GatewayStub();
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  v1::Inventory inventory;
  return stub->GetInventory(&context, v1::GetInventoryRequest(), &inventory);
}

bool Refused(NodeTestEnv& env, const std::string& message) {
  grpc::Status status = Inventory(env);
  return status.error_code() == grpc::StatusCode::UNAUTHENTICATED &&
         status.error_message().find(message) != std::string::npos;
}

// Runs `kura-node serve` expected to refuse to start; returns its exit status and its log.
std::pair<int, std::string> StartExpectingFailure(NodeTestEnv& env,
                                                  const std::vector<std::string>& extra) {
  std::string log = env.dir() + "/refused.log";
  std::vector<std::string> args = {
      KURA_NODE_BINARY,     "serve",   "--listen",  "127.0.0.1:0", "--certs",
      env.dir() + "/certs", "--state", env.state(), "--run",       env.run()};
  args.insert(args.end(), extra.begin(), extra.end());
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = -1;
  int spawned = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0) return {-1, "posix_spawn failed"};
  int status = 0;
  bool exited =
      Eventually([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, std::chrono::seconds(30));
  if (!exited) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return {-1, "kura-node did not exit: " + ReadFile(log)};
  }
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadFile(log)};
}

// The list itself, without a node process (no root needed): reload on change, bad replacements
// ignored, expiry fails closed.
TEST(CertificateRevocationTest, ChecksReloadsAndKeepsTheLastGoodList) {
  NodeTestEnv env;
  std::string crl = env.dir() + "/crl.pem";
  const std::string gateway = SerialOf(env.gateway());
  absl::Time start = absl::Now();
  Publish(crl, Crl(env.ca(), {SerialOf(env.terminal())}, start));
  CertificateRevocation::Options options{crl, env.ca().certificate_pem, absl::ZeroDuration()};
  auto revocation = CertificateRevocation::Load(options);
  ASSERT_TRUE(revocation.ok()) << revocation.status();
  EXPECT_TRUE((*revocation)->Check(gateway, "gateway").ok());
  absl::Status terminal = (*revocation)->Check(SerialOf(env.terminal()), "terminal");
  EXPECT_TRUE(absl::IsUnauthenticated(terminal)) << terminal;

  Publish(crl, Crl(env.ca(), {gateway}, start));
  absl::Status revoked = (*revocation)->Check(gateway, "gateway");
  EXPECT_TRUE(absl::IsUnauthenticated(revoked)) << revoked;
  EXPECT_THAT(revoked.message(),
              HasSubstr("the gateway's certificate (serial " + gateway + ") is revoked"));

  for (const std::string& bad :
       {Crl(OtherCa(), {}, start), Crl(env.ca(), {}, start - absl::Hours(2)),
        Crl(env.ca(), {}, start - absl::Minutes(1)), std::string("garbage")}) {
    Publish(crl, bad);
    EXPECT_TRUE(absl::IsUnauthenticated((*revocation)->Check(gateway, "gateway")));
  }
  std::filesystem::remove(crl);
  EXPECT_TRUE(absl::IsUnauthenticated((*revocation)->Check(gateway, "gateway")));

  // A list that expires in 2 s: good now, refusing everything after.
  Publish(crl, Crl(env.ca(), {}, absl::Now(), absl::Seconds(2)));
  EXPECT_TRUE((*revocation)->Check(gateway, "gateway").ok());
  ASSERT_TRUE(Eventually(
      [&] {
        absl::Status s = (*revocation)->Check(gateway, "gateway");
        return absl::IsUnauthenticated(s) && absl::StrContains(s.message(), "expired at");
      },
      std::chrono::seconds(10)));

  options.ca_pem = OtherCa().certificate_pem;
  EXPECT_TRUE(absl::IsUnauthenticated(CertificateRevocation::Load(options).status()));
}

#define KURA_REQUIRE_ROOT() \
  if (::geteuid() != 0) GTEST_SKIP() << "kura-node needs root (namespaces, mounts, cgroups)"

TEST(RevocationTest, RevokedGatewayIsRefusedAndOthersRevokedChangeNothing) {
  KURA_REQUIRE_ROOT();
  NodeTestEnv env;
  std::string crl = env.dir() + "/crl.pem";
  // The list names a terminal and another node, not the gateway: the gateway is served.
  Publish(crl, Crl(env.ca(), {SerialOf(env.terminal()), SerialOf(env.other_node())}));
  env.StartNode({"--crl", crl});
  grpc::Status status = Inventory(env);
  EXPECT_TRUE(status.ok()) << status.error_message();
  env.StopNode();

  Publish(crl, Crl(env.ca(), {SerialOf(env.gateway())}));
  env.StartNode({"--crl", crl});
  status = Inventory(env);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("the gateway's certificate (serial " +
                                                SerialOf(env.gateway()) + ") is revoked"));
  // Every call, not only the inventory.
  auto stub = env.GatewayStub();
  grpc::ClientContext context;
  v1::Workspace ws;
  EXPECT_EQ(stub->OpenWorkspace(&context, env.OpenRequest("ws-revoked", 1511), &ws).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_FALSE(std::filesystem::exists(env.state() + "/workspaces/ws-revoked"));
}

TEST(RevocationTest, ReplacedListTakesEffectWithoutRestartAndBadReplacementsAreIgnored) {
  KURA_REQUIRE_ROOT();
  NodeTestEnv env;
  std::string crl = env.dir() + "/crl.pem";
  const std::string revoked = "is revoked";
  Publish(crl, Crl(env.ca(), {}));
  env.StartNode({"--crl", crl, "--crl-reload-seconds", "1"});
  grpc::Status status = Inventory(env);
  ASSERT_TRUE(status.ok()) << status.error_message();

  absl::Time revoked_at = absl::Now();
  Publish(crl, Crl(env.ca(), {SerialOf(env.gateway())}, revoked_at));
  ASSERT_TRUE(Eventually([&] { return Refused(env, revoked); }, std::chrono::seconds(15)));

  // Each replacement below would let the gateway back in; each must be ignored.
  struct Case {
    const char* name;
    std::string pem;
  };
  for (const Case& c : std::vector<Case>{
           {"another CA's list", Crl(OtherCa(), {})},
           {"an expired list", Crl(env.ca(), {}, absl::Now() - absl::Hours(2))},
           {"an older list, from before the revocation",
            Crl(env.ca(), {}, revoked_at - absl::Minutes(10))},
           {"not a list", "garbage\n"},
       }) {
    SCOPED_TRACE(c.name);
    Publish(crl, c.pem);
    // Past the reload period, so the node has looked at the file.
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    EXPECT_TRUE(Refused(env, revoked));
    EXPECT_TRUE(Refused(env, revoked));
  }

  // A fresh list from kura's CA without the serial lets the gateway in again.
  Publish(crl, Crl(env.ca(), {}, absl::Now() + absl::Seconds(1)));
  EXPECT_TRUE(Eventually([&] { return Inventory(env).ok(); }, std::chrono::seconds(15)));
}

TEST(RevocationTest, NodeRefusesToStartOnAListItCannotTrust) {
  KURA_REQUIRE_ROOT();
  NodeTestEnv env;
  std::string crl = env.dir() + "/crl.pem";
  struct Case {
    const char* name;
    std::string pem;  // empty: no file
    const char* message;
  };
  for (const Case& c : std::vector<Case>{
           {"another CA", Crl(OtherCa(), {}), "signature does not verify"},
           {"expired", Crl(env.ca(), {}, absl::Now() - absl::Hours(2)), "expired at"},
           {"not yet valid", Crl(env.ca(), {}, absl::Now() + absl::Hours(2)), "not valid before"},
           {"not a CRL", env.gateway().certificate_pem, "not a PEM certificate revocation list"},
           {"missing", "", "No such file"},
       }) {
    SCOPED_TRACE(c.name);
    std::filesystem::remove(crl);
    if (!c.pem.empty()) Publish(crl, c.pem);
    auto [code, log] = StartExpectingFailure(env, {"--crl", crl});
    EXPECT_EQ(code, 1) << log;
    EXPECT_THAT(log, HasSubstr("refusing to start on the revocation list"));
    EXPECT_THAT(log, HasSubstr(c.message));
  }
}

TEST(RevocationTest, ExpiredListFailsClosedUntilRenewed) {
  KURA_REQUIRE_ROOT();
  NodeTestEnv env;
  std::string crl = env.dir() + "/crl.pem";
  Publish(crl, Crl(env.ca(), {}, absl::Now(), absl::Seconds(8)));
  env.StartNode({"--crl", crl, "--crl-reload-seconds", "1"});
  grpc::Status status = Inventory(env);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_TRUE(Eventually([&] { return Refused(env, "revocation list expired at"); },
                         std::chrono::seconds(20)));
  Publish(crl, Crl(env.ca(), {}));
  EXPECT_TRUE(Eventually([&] { return Inventory(env).ok(); }, std::chrono::seconds(15)));
}

// A NodeRegistry served with the gateway's certificate that counts what reaches it.
class CountingRegistry final : public v1::NodeRegistry::Service {
 public:
  grpc::Status Register(grpc::ServerContext*, const v1::RegisterNodeRequest*,
                        v1::RegisterNodeResponse* response) override {
    ++registrations;
    response->set_heartbeat_interval_seconds(1);
    return grpc::Status::OK;
  }
  grpc::Status Heartbeat(grpc::ServerContext*, const v1::HeartbeatRequest*,
                         v1::HeartbeatResponse*) override {
    ++heartbeats;
    return grpc::Status::OK;
  }
  std::atomic<int> registrations{0};
  std::atomic<int> heartbeats{0};
};

TEST(RevocationTest, NodeDoesNotFollowARevokedGatewayItRegistersWith) {
  KURA_REQUIRE_ROOT();
  NodeTestEnv env;
  CountingRegistry registry;
  int gateway_port = 0;
  std::unique_ptr<grpc::Server> server = env.ServeAsGateway(&registry, &gateway_port);
  ASSERT_NE(gateway_port, 0);

  std::string crl = env.dir() + "/crl.pem";
  Publish(crl, Crl(env.ca(), {SerialOf(env.gateway())}));
  env.StartNode({"--gateway", absl::StrCat("127.0.0.1:", gateway_port), "--crl", crl,
                 "--crl-reload-seconds", "1"});
  // Each answer is dropped, so the node registers again instead of heartbeating.
  ASSERT_TRUE(Eventually([&] { return registry.registrations >= 2; }, std::chrono::seconds(20)));
  EXPECT_EQ(registry.heartbeats, 0);

  Publish(crl, Crl(env.ca(), {}, absl::Now() + absl::Seconds(1)));
  EXPECT_TRUE(Eventually([&] { return registry.heartbeats >= 1; }, std::chrono::seconds(30)));
  env.StopNode();
  server->Shutdown();
}

}  // namespace
}  // namespace kura::node
