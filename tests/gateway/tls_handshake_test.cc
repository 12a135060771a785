// kura's certificates in a real TLS 1.3 handshake (OpenSSL, in memory): the gateway's server
// certificate and a terminal's client certificate work; certificates of the wrong purpose or
// from another CA do not.

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

#include "gateway/pki.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/status_matchers.h"
#include "tests/gateway/test_util.h"

namespace kura::gateway {
namespace {

using ::kura::testing::IsOk;

struct SslCtxDeleter {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};
struct SslDeleter {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;
using SslPtr = std::unique_ptr<SSL, SslDeleter>;

void Use(SSL_CTX* ctx, const KeyAndCertificate& pair, const std::string& ca_pem) {
  BIO* bio = BIO_new_mem_buf(pair.certificate_pem.data(), -1);
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  bio = BIO_new_mem_buf(pair.key_pem.data(), -1);
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_EQ(SSL_CTX_use_certificate(ctx, cert), 1);
  ASSERT_EQ(SSL_CTX_use_PrivateKey(ctx, key), 1);
  X509_free(cert);
  EVP_PKEY_free(key);
  bio = BIO_new_mem_buf(ca_pem.data(), -1);
  X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_EQ(X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), ca), 1);
  X509_free(ca);
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
}

// Runs a handshake between a client and a server in memory; true when both complete. The
// client checks the server's name against `host` unless it is null.
bool Handshake(const KeyAndCertificate& server_pair, const std::string& server_trusts,
               const KeyAndCertificate& client_pair, const std::string& client_trusts,
               const char* host = "localhost") {
  SslCtxPtr server_ctx(SSL_CTX_new(TLS_server_method()));
  SslCtxPtr client_ctx(SSL_CTX_new(TLS_client_method()));
  Use(server_ctx.get(), server_pair, server_trusts);
  Use(client_ctx.get(), client_pair, client_trusts);
  // The purposes: the server's certificate must allow serverAuth, the client's clientAuth.
  SSL_CTX_set_purpose(server_ctx.get(), X509_PURPOSE_SSL_CLIENT);
  SSL_CTX_set_purpose(client_ctx.get(), X509_PURPOSE_SSL_SERVER);
  SslPtr server(SSL_new(server_ctx.get()));
  SslPtr client(SSL_new(client_ctx.get()));
  if (host != nullptr) SSL_set1_host(client.get(), host);
  BIO* server_io = nullptr;
  BIO* client_io = nullptr;
  BIO_new_bio_pair(&server_io, 0, &client_io, 0);
  SSL_set_bio(server.get(), server_io, server_io);
  SSL_set_bio(client.get(), client_io, client_io);
  SSL_set_accept_state(server.get());
  SSL_set_connect_state(client.get());
  bool server_done = false;
  bool client_done = false;
  for (int round = 0; round < 20 && !(server_done && client_done); ++round) {
    for (auto [ssl, done] : {std::pair{client.get(), &client_done}, {server.get(), &server_done}}) {
      if (*done) continue;
      int rc = SSL_do_handshake(ssl);
      if (rc == 1) {
        *done = true;
        continue;
      }
      int error = SSL_get_error(ssl, rc);
      if (error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE) {
        ERR_clear_error();
        return false;
      }
    }
  }
  // TLS 1.3: the server checks the client's certificate after the client thinks it is done;
  // a refusal arrives as an alert on the first read.
  char byte;
  SSL_write(client.get(), "x", 1);
  bool read_ok = SSL_read(server.get(), &byte, 1) == 1;
  ERR_clear_error();
  return server_done && client_done && read_ok && SSL_version(server.get()) == TLS1_3_VERSION;
}

TEST(TlsHandshakeTest, KuraCertificatesWorkOnlyInTheirRole) {
  absl::Time now = absl::Now();
  auto ca = CreateCertificateAuthority("kura CA", now - absl::Hours(1), absl::Hours(24 * 365));
  auto other_ca = CreateCertificateAuthority("other CA", now - absl::Hours(1), absl::Hours(24));
  ASSERT_THAT(ca, IsOk());
  ASSERT_THAT(other_ca, IsOk());
  auto issue = [&](const KeyAndCertificate& by, PeerRole role, const char* id,
                   TerminalClass klass) {
    CertificateRequest request;
    request.role = role;
    request.id = id;
    request.terminal_class = klass;
    if (role != PeerRole::kTerminal) request.dns_names = {"localhost"};
    request.not_before = now - absl::Hours(1);
    request.not_after = now + absl::Hours(24);
    auto issued = IssueCertificate(by, request);
    EXPECT_THAT(issued, IsOk());
    return *issued;
  };
  KeyAndCertificate gateway = issue(*ca, PeerRole::kGateway, "gateway", TerminalClass::kNone);
  KeyAndCertificate node = issue(*ca, PeerRole::kNode, "node-a", TerminalClass::kNone);
  KeyAndCertificate terminal = issue(*ca, PeerRole::kTerminal, "vdi-01", TerminalClass::kDedicated);
  KeyAndCertificate foreign =
      issue(*other_ca, PeerRole::kTerminal, "vdi-01", TerminalClass::kDedicated);
  const std::string& trust = ca->certificate_pem;

  EXPECT_TRUE(Handshake(gateway, trust, terminal, trust)) << "terminal to gateway";
  EXPECT_TRUE(Handshake(node, trust, gateway, trust)) << "gateway to node";
  EXPECT_FALSE(Handshake(gateway, trust, foreign, trust)) << "terminal of another CA";
  // A terminal certificate has no serverAuth purpose (and no host name): no TLS client accepts
  // it as a server even without a host check.
  EXPECT_FALSE(Handshake(terminal, trust, gateway, trust, nullptr))
      << "terminal serving as a server";
  // A node may be a TLS client (it registers with the gateway); what keeps it from acting as a
  // terminal is VerifyPeerCertificate's role check, tested in pki_test.cc.
  EXPECT_TRUE(Handshake(gateway, trust, node, trust)) << "node to gateway";
  EXPECT_FALSE(Handshake(gateway, trust, terminal, other_ca->certificate_pem))
      << "gateway not trusted by the client";
}

}  // namespace
}  // namespace kura::gateway
