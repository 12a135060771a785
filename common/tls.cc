#include "common/tls.h"

#include <grpc/grpc_security_constants.h>
#include <grpcpp/security/auth_context.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>
#include <openssl/bio.h>
#include <openssl/conf.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace kura {
namespace {

// `Protocol` sets SSL_OP_NO_* flags, which survive gRPC's own SSL_CTX_set_min_proto_version
// (TLS 1.2) call; MinProtocol alone would be overridden by it.
constexpr char kTls13Config[] = R"(
kura = kura_section
[kura_section]
ssl_conf = kura_ssl
[kura_ssl]
system_default = kura_tls
[kura_tls]
MinProtocol = TLSv1.3
Protocol = -SSLv3, -TLSv1, -TLSv1.1, -TLSv1.2, TLSv1.3
)";

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct ConfDeleter {
  void operator()(CONF* conf) const { NCONF_free(conf); }
};

absl::Status LoadTls13Config() {
  std::unique_ptr<CONF, ConfDeleter> conf(NCONF_new(nullptr));
  std::unique_ptr<BIO, BioDeleter> bio(BIO_new_mem_buf(kTls13Config, -1));
  long error_line = 0;
  if (!conf || !bio || NCONF_load_bio(conf.get(), bio.get(), &error_line) <= 0) {
    return absl::InternalError(absl::StrCat("TLS configuration line ", error_line, " invalid"));
  }
  if (CONF_modules_load(conf.get(), "kura", 0) <= 0) {
    unsigned long error = ERR_get_error();
    char text[256];
    ERR_error_string_n(error, text, sizeof(text));
    return absl::InternalError(absl::StrCat("CONF_modules_load: ", text));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return ErrnoError("open", path);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

}  // namespace

absl::StatusOr<TlsIdentity> LoadTlsIdentity(const std::string& dir, const std::string& name) {
  TlsIdentity identity;
  KURA_ASSIGN_OR_RETURN(identity.ca_pem, ReadFile(dir + "/ca.pem"));
  KURA_ASSIGN_OR_RETURN(identity.cert_pem, ReadFile(absl::StrCat(dir, "/", name, ".pem")));
  KURA_ASSIGN_OR_RETURN(identity.key_pem, ReadFile(absl::StrCat(dir, "/", name, ".key")));
  return identity;
}

absl::Status RequireTls13() {
  static std::once_flag once;
  static absl::Status* status = nullptr;
  std::call_once(once, [] {
    OPENSSL_init_ssl(OPENSSL_INIT_LOAD_SSL_STRINGS, nullptr);
    status = new absl::Status(LoadTls13Config());
  });
  return *status;
}

std::shared_ptr<grpc::ServerCredentials> MutualTlsServerCredentials(const TlsIdentity& identity) {
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = identity.ca_pem;
  options.pem_key_cert_pairs.push_back({identity.key_pem, identity.cert_pem});
  return grpc::SslServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> MutualTlsChannelCredentials(const TlsIdentity& identity) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = identity.ca_pem;
  options.pem_private_key = identity.key_pem;
  options.pem_cert_chain = identity.cert_pem;
  return grpc::SslCredentials(options);
}

absl::StatusOr<std::string> PeerCertificatePem(const grpc::AuthContext& context) {
  if (!context.IsPeerAuthenticated()) {
    return absl::UnauthenticatedError("no verified client certificate");
  }
  auto values = context.FindPropertyValues(GRPC_X509_PEM_CERT_PROPERTY_NAME);
  if (values.empty()) return absl::UnauthenticatedError("no verified client certificate");
  return std::string(values.front().data(), values.front().size());
}

}  // namespace kura
