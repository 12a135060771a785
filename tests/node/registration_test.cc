// kura-node registers with the gateway, heartbeats its workspaces and closes the ones the
// gateway lists. The gateway here is a NodeRegistry served in the test with the gateway's
// certificate.

#include <unistd.h>

#include "absl/synchronization/mutex.h"
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
using ::testing::HasSubstr;

class FakeRegistry final : public v1::NodeRegistry::Service {
 public:
  explicit FakeRegistry(std::string ca_pem) : ca_pem_(std::move(ca_pem)) {}

  grpc::Status Register(grpc::ServerContext* context, const v1::RegisterNodeRequest* request,
                        v1::RegisterNodeResponse* response) override {
    if (grpc::Status s = CheckNode(context); !s.ok()) return s;
    absl::MutexLock lock(&mu_);
    registrations_.push_back(*request);
    response->set_heartbeat_interval_seconds(1);
    return grpc::Status::OK;
  }

  grpc::Status Heartbeat(grpc::ServerContext* context, const v1::HeartbeatRequest* request,
                         v1::HeartbeatResponse* response) override {
    if (grpc::Status s = CheckNode(context); !s.ok()) return s;
    absl::MutexLock lock(&mu_);
    heartbeats_.push_back(*request);
    for (const std::string& id : close_) response->add_close_workspace_ids(id);
    return grpc::Status::OK;
  }

  void Close(const std::string& id) {
    absl::MutexLock lock(&mu_);
    close_.push_back(id);
  }
  std::vector<v1::RegisterNodeRequest> registrations() {
    absl::MutexLock lock(&mu_);
    return registrations_;
  }
  std::optional<v1::HeartbeatRequest> last_heartbeat() {
    absl::MutexLock lock(&mu_);
    if (heartbeats_.empty()) return std::nullopt;
    return heartbeats_.back();
  }
  std::string node_id() {
    absl::MutexLock lock(&mu_);
    return node_id_;
  }

 private:
  grpc::Status CheckNode(grpc::ServerContext* context) {
    auto pem = PeerCertificatePem(*context->auth_context());
    if (!pem.ok()) return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no certificate");
    auto peer =
        gateway::VerifyPeerCertificate(*pem, ca_pem_, {}, absl::Now(), gateway::PeerRole::kNode);
    if (!peer.ok()) return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "not a node");
    absl::MutexLock lock(&mu_);
    node_id_ = peer->id;
    return grpc::Status::OK;
  }

  const std::string ca_pem_;
  absl::Mutex mu_;
  std::vector<v1::RegisterNodeRequest> registrations_ ABSL_GUARDED_BY(mu_);
  std::vector<v1::HeartbeatRequest> heartbeats_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> close_ ABSL_GUARDED_BY(mu_);
  std::string node_id_ ABSL_GUARDED_BY(mu_);
};

TEST(RegistrationTest, RegistersHeartbeatsAndClosesWhatTheGatewaySays) {
  if (::geteuid() != 0) GTEST_SKIP() << "workspaces need root (namespaces, mounts, cgroups)";
  NodeTestEnv env;
  FakeRegistry registry(env.ca().certificate_pem);
  int gateway_port = 0;
  std::unique_ptr<grpc::Server> server = env.ServeAsGateway(&registry, &gateway_port);
  ASSERT_NE(gateway_port, 0);

  env.StartNode({"--gateway", absl::StrCat("127.0.0.1:", gateway_port), "--cpus", "6"});
  ASSERT_TRUE(Eventually([&] { return !registry.registrations().empty(); }));
  v1::RegisterNodeRequest registered = registry.registrations()[0];
  EXPECT_EQ(registered.address(), absl::StrCat("127.0.0.1:", env.port()));
  EXPECT_EQ(registered.capacity().cpus(), 6);
  EXPECT_GT(registered.capacity().memory_bytes(), 0u);
  EXPECT_EQ(registry.node_id(), "node-1");

  auto stub = env.GatewayStub();
  grpc::ClientContext context;
  v1::Workspace ws;
  ASSERT_TRUE(stub->OpenWorkspace(&context, env.OpenRequest("ws-hb", 1501), &ws).ok());
  ASSERT_TRUE(Eventually([&] {
    auto beat = registry.last_heartbeat();
    return beat && beat->workspace_ids_size() == 1 && beat->workspace_ids(0) == "ws-hb" &&
           beat->allocated().cpus() == 1;
  }));

  registry.Close("ws-hb");
  ASSERT_TRUE(
      Eventually([&] { return !ReadFile(env.state() + "/workspaces/ws-hb/closed").empty(); }));
  EXPECT_THAT(ReadFile(env.state() + "/workspaces/ws-hb/closed"), HasSubstr("gateway"));
  ASSERT_TRUE(Eventually([&] {
    auto beat = registry.last_heartbeat();
    return beat && beat->workspace_ids_size() == 0;
  }));
  env.StopNode();
  server->Shutdown();
}

}  // namespace
}  // namespace kura::node
