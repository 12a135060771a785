#include "common/tls.h"

#include <grpcpp/grpcpp.h>
#include <stdlib.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kura/v1/gateway.grpc.pb.h"
#include "tests/common/status_matchers.h"

namespace kura {
namespace {

using ::kura::testing::IsOk;

// Runs a shell command and returns its exit status.
int Shell(const std::string& command) { return std::system(command.c_str()); }

// A CA and leaf certificates made with the openssl command at test time.
class TestPki {
 public:
  TestPki() {
    char tmpl[] = "/tmp/kura-tls-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  ~TestPki() { std::filesystem::remove_all(dir_); }

  void MakeCa(const std::string& name) {
    ASSERT_EQ(Shell(absl::StrCat(
                  "cd ", dir_, " && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256",
                  " -nodes -keyout ", name, ".key -out ", name, ".pem -days 2 -subj /CN=", name,
                  " 2>/dev/null")),
              0);
  }

  void MakeLeaf(const std::string& name, const std::string& ca) {
    ASSERT_EQ(Shell(absl::StrCat(
                  "cd ", dir_, " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256",
                  " -nodes -keyout ", name, ".key -out ", name, ".csr -subj /CN=", name,
                  " 2>/dev/null && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > ",
                  name, ".ext && openssl x509 -req -in ", name, ".csr -CA ", ca, ".pem -CAkey ",
                  ca, ".key -CAcreateserial -days 1 -extfile ", name, ".ext -out ", name,
                  ".pem 2>/dev/null")),
              0);
  }

  // `name`'s key and certificate with `ca` as the trust anchor, in LoadTlsIdentity's layout.
  TlsIdentity Identity(const std::string& name, const std::string& ca) {
    std::filesystem::copy_file(dir_ + "/" + ca + ".pem", dir_ + "/ca.pem",
                               std::filesystem::copy_options::overwrite_existing);
    auto identity = LoadTlsIdentity(dir_, name);
    EXPECT_TRUE(identity.ok()) << identity.status();
    return identity.ok() ? *identity : TlsIdentity();
  }

  const std::string& dir() const { return dir_; }

 private:
  std::string dir_;
};

// Answers Heartbeat and remembers the certificate the caller presented.
class RecordingRegistry final : public v1::NodeRegistry::Service {
 public:
  grpc::Status Heartbeat(grpc::ServerContext* context, const v1::HeartbeatRequest*,
                         v1::HeartbeatResponse*) override {
    auto pem = PeerCertificatePem(*context->auth_context());
    if (!pem.ok()) return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no certificate");
    peer_pem_ = *pem;
    return grpc::Status::OK;
  }
  std::string peer_pem_;
};

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_THAT(RequireTls13(), IsOk());
    pki_.MakeCa("ca-kura");
    pki_.MakeCa("ca-other");
    pki_.MakeLeaf("server", "ca-kura");
    pki_.MakeLeaf("client", "ca-kura");
    pki_.MakeLeaf("intruder", "ca-other");
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0",
                             MutualTlsServerCredentials(pki_.Identity("server", "ca-kura")), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }

  grpc::Status Call(std::shared_ptr<grpc::ChannelCredentials> credentials) {
    auto channel = grpc::CreateChannel(absl::StrCat("localhost:", port_), credentials);
    auto stub = v1::NodeRegistry::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::HeartbeatResponse response;
    return stub->Heartbeat(&context, v1::HeartbeatRequest(), &response);
  }

  TestPki pki_;
  RecordingRegistry service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(TlsTest, ClientWithKuraCertificateIsServedAndIdentified) {
  grpc::Status status = Call(MutualTlsChannelCredentials(pki_.Identity("client", "ca-kura")));
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_THAT(service_.peer_pem_, ::testing::HasSubstr("BEGIN CERTIFICATE"));
}

TEST_F(TlsTest, ClientWithoutCertificateIsRefused) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = pki_.Identity("client", "ca-kura").ca_pem;
  EXPECT_FALSE(Call(grpc::SslCredentials(options)).ok());
  EXPECT_TRUE(service_.peer_pem_.empty());
}

TEST_F(TlsTest, ClientCertificateFromAnotherCaIsRefused) {
  TlsIdentity intruder = pki_.Identity("intruder", "ca-other");
  intruder.ca_pem = pki_.Identity("client", "ca-kura").ca_pem;  // it trusts our server
  EXPECT_FALSE(Call(MutualTlsChannelCredentials(intruder)).ok());
  EXPECT_TRUE(service_.peer_pem_.empty());
}

TEST_F(TlsTest, OnlyTls13IsSpoken) {
  // stdin stays open for a second so that s_client finishes the handshake (TLS 1.3 verifies the
  // client certificate after the client's Finished) before it reports and hangs up.
  const std::string base = absl::StrCat(
      "cd ", pki_.dir(), " && sleep 1 | timeout 10 openssl s_client -brief -connect 127.0.0.1:",
      port_, " -cert client.pem -key client.key -CAfile ca-kura.pem ");
  EXPECT_NE(Shell(base + "-tls1_2 2>&1 | grep -q 'Protocol version: TLSv1.2'"), 0)
      << "a TLS 1.2 handshake succeeded";
  EXPECT_EQ(Shell(base + "-tls1_3 2>&1 | grep -q 'Protocol version: TLSv1.3'"), 0)
      << "a TLS 1.3 handshake failed";
}

}  // namespace
}  // namespace kura
