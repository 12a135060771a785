#pragma once

// Owners for the OpenSSL objects the gateway uses: one unique_ptr with a deleter per type, so
// no error path leaks a key, certificate or store. Internal to kura_gateway's .cc files.

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kura::gateway::ssl {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};

using Pkey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX, EVP_PKEY_CTX_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, Deleter<X509_NAME, X509_NAME_free>>;
using X509ExtensionPtr =
    std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using X509StoreCtxPtr =
    std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;
using Asn1OctetStringPtr =
    std::unique_ptr<ASN1_OCTET_STRING, Deleter<ASN1_OCTET_STRING, ASN1_OCTET_STRING_free>>;
using BignumPtr = std::unique_ptr<BIGNUM, Deleter<BIGNUM, BN_free>>;
using Asn1IntegerPtr = std::unique_ptr<ASN1_INTEGER, Deleter<ASN1_INTEGER, ASN1_INTEGER_free>>;
using Asn1ObjectPtr = std::unique_ptr<ASN1_OBJECT, Deleter<ASN1_OBJECT, ASN1_OBJECT_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, Deleter<GENERAL_NAMES, GENERAL_NAMES_free>>;
using ExtendedKeyUsagePtr =
    std::unique_ptr<EXTENDED_KEY_USAGE, Deleter<EXTENDED_KEY_USAGE, EXTENDED_KEY_USAGE_free>>;
using BasicConstraintsPtr =
    std::unique_ptr<BASIC_CONSTRAINTS, Deleter<BASIC_CONSTRAINTS, BASIC_CONSTRAINTS_free>>;

// The oldest error on OpenSSL's thread-local queue as text, and the queue cleared; "" if empty.
std::string DrainErrors();

// `what` plus OpenSSL's reason, as an Internal error (for failures that are not the caller's).
absl::Status OpensslError(absl::string_view what);

// Reads one PEM certificate / private key. InvalidArgument names `what` when it is not one.
absl::StatusOr<X509Ptr> ParseCertificatePem(absl::string_view pem, absl::string_view what);
absl::StatusOr<Pkey> ParsePrivateKeyPem(absl::string_view pem, absl::string_view what);

// A signing CA read from PEM: its certificate and the key that belongs to it (InvalidArgument
// when either is not PEM or the key is another's).
struct SigningCa {
  X509Ptr cert;
  Pkey key;
};
absl::StatusOr<SigningCa> ParseSigningCa(absl::string_view certificate_pem,
                                         absl::string_view key_pem);

// PEM text of a certificate or a private key (PKCS#8, unencrypted).
absl::StatusOr<std::string> CertificateToPem(X509* cert);
absl::StatusOr<std::string> PrivateKeyToPem(EVP_PKEY* key);

}  // namespace kura::gateway::ssl
