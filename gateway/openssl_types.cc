#include "gateway/openssl_types.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace kura::gateway::ssl {

std::string DrainErrors() {
  unsigned long code = ERR_get_error();
  std::string text;
  if (code != 0) {
    char buffer[256];
    ERR_error_string_n(code, buffer, sizeof(buffer));
    text = buffer;
  }
  ERR_clear_error();
  return text;
}

absl::Status OpensslError(absl::string_view what) {
  std::string reason = DrainErrors();
  if (reason.empty()) return absl::InternalError(what);
  return absl::InternalError(absl::StrCat(what, ": ", reason));
}

namespace {

BioPtr MemoryBio(absl::string_view text) {
  return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

absl::StatusOr<std::string> BioContents(BIO* bio) {
  char* data = nullptr;
  long length = BIO_get_mem_data(bio, &data);
  if (length < 0) return OpensslError("BIO_get_mem_data");
  return std::string(data, static_cast<size_t>(length));
}

}  // namespace

absl::StatusOr<X509Ptr> ParseCertificatePem(absl::string_view pem, absl::string_view what) {
  BioPtr bio = MemoryBio(pem);
  if (!bio) return OpensslError("BIO_new_mem_buf");
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    DrainErrors();
    return absl::InvalidArgumentError(absl::StrCat(what, " is not a PEM certificate"));
  }
  return cert;
}

absl::StatusOr<Pkey> ParsePrivateKeyPem(absl::string_view pem, absl::string_view what) {
  BioPtr bio = MemoryBio(pem);
  if (!bio) return OpensslError("BIO_new_mem_buf");
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    DrainErrors();
    return absl::InvalidArgumentError(absl::StrCat(what, " is not a PEM private key"));
  }
  return key;
}

absl::StatusOr<SigningCa> ParseSigningCa(absl::string_view certificate_pem,
                                         absl::string_view key_pem) {
  SigningCa ca;
  KURA_ASSIGN_OR_RETURN(ca.cert, ParseCertificatePem(certificate_pem, "the CA certificate"));
  KURA_ASSIGN_OR_RETURN(ca.key, ParsePrivateKeyPem(key_pem, "the CA key"));
  if (X509_check_private_key(ca.cert.get(), ca.key.get()) != 1) {
    DrainErrors();
    return absl::InvalidArgumentError("the CA key does not belong to the CA certificate");
  }
  return ca;
}

absl::StatusOr<std::string> CertificateToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return OpensslError("PEM_write_bio_X509");
  return BioContents(bio.get());
}

absl::StatusOr<std::string> PrivateKeyToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return OpensslError("PEM_write_bio_PrivateKey");
  }
  return BioContents(bio.get());
}

}  // namespace kura::gateway::ssl
