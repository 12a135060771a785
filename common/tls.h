#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace grpc {
class AuthContext;
class ChannelCredentials;
class ServerCredentials;
}  // namespace grpc

namespace kura {

// A party's TLS identity: kura's CA certificate (the only trust anchor), its own certificate
// chain and private key, all PEM.
struct TlsIdentity {
  std::string ca_pem;
  std::string cert_pem;
  std::string key_pem;
};

// Reads ca.pem, <name>.pem and <name>.key from `dir` (the layout `kura-admin pki` writes).
absl::StatusOr<TlsIdentity> LoadTlsIdentity(const std::string& dir, const std::string& name);

// Restricts every TLS context this process creates afterwards to TLS 1.3. gRPC 1.51 offers no
// minimum-version setting, so this loads an OpenSSL configuration (held in memory) whose
// system_default section disables the older protocols; gRPC's SSL contexts pick it up when they
// are created. Call once from main() before any channel or server exists. Thread-safe.
absl::Status RequireTls13();

// Server credentials that demand and verify a client certificate from kura's CA.
std::shared_ptr<grpc::ServerCredentials> MutualTlsServerCredentials(const TlsIdentity& identity);

// Channel credentials presenting `identity` and trusting only kura's CA for the server.
std::shared_ptr<grpc::ChannelCredentials> MutualTlsChannelCredentials(const TlsIdentity& identity);

// The verified peer certificate (PEM) of a call; Unauthenticated when there is none.
absl::StatusOr<std::string> PeerCertificatePem(const grpc::AuthContext& context);

}  // namespace kura
