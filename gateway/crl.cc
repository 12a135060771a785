#include "gateway/crl.h"

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <time.h>

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "gateway/openssl_types.h"

namespace kura::gateway {
namespace {

using ssl::OpensslError;

using CrlPtr = std::unique_ptr<X509_CRL, ssl::Deleter<X509_CRL, X509_CRL_free>>;
using RevokedPtr = std::unique_ptr<X509_REVOKED, ssl::Deleter<X509_REVOKED, X509_REVOKED_free>>;
using Asn1TimePtr = std::unique_ptr<ASN1_TIME, ssl::Deleter<ASN1_TIME, ASN1_TIME_free>>;

// A node must not trust a list the CA dated in its future; this much clock skew is forgiven.
constexpr absl::Duration kClockSkew = absl::Minutes(5);

absl::StatusOr<absl::Time> ToAbslTime(const ASN1_TIME* time, absl::string_view what) {
  struct tm tm = {};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) {
    ssl::DrainErrors();
    return absl::InvalidArgumentError(absl::StrCat("the revocation list has no readable ", what));
  }
  return absl::FromTimeT(timegm(&tm));
}

// The same rendering as PeerIdentity::serial (peer_identity.cc), so the two compare equal.
absl::StatusOr<std::string> SerialHex(const ASN1_INTEGER* serial) {
  ssl::BignumPtr bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn) return OpensslError("ASN1_INTEGER_to_BN");
  char* hex = BN_bn2hex(bn.get());
  if (hex == nullptr) return OpensslError("BN_bn2hex");
  std::string out = absl::AsciiStrToLower(hex);
  OPENSSL_free(hex);
  return out;
}

absl::StatusOr<ssl::Asn1IntegerPtr> SerialInteger(absl::string_view serial) {
  if (serial.empty() || serial.size() > 64) {
    return absl::InvalidArgumentError(
        absl::StrCat("serial '", serial, "' is not 1 to 64 hex digits"));
  }
  for (char c : serial) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) {
      return absl::InvalidArgumentError(absl::StrCat("serial '", serial, "' is not hexadecimal"));
    }
  }
  std::string text(serial);
  BIGNUM* raw = nullptr;
  if (BN_hex2bn(&raw, text.c_str()) != static_cast<int>(text.size())) {
    BN_free(raw);
    return OpensslError("BN_hex2bn");
  }
  ssl::BignumPtr bn(raw);
  if (BN_is_zero(bn.get())) return absl::InvalidArgumentError("serial 0 names no certificate");
  ssl::Asn1IntegerPtr integer(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!integer) return OpensslError("BN_to_ASN1_INTEGER");
  return integer;
}

absl::StatusOr<Asn1TimePtr> Asn1Time(absl::Time time) {
  Asn1TimePtr out(ASN1_TIME_set(nullptr, absl::ToTimeT(time)));
  if (!out) return OpensslError("ASN1_TIME_set");
  return out;
}

absl::Status AddRevoked(X509_CRL* crl, absl::string_view serial, const ASN1_TIME* when) {
  KURA_ASSIGN_OR_RETURN(ssl::Asn1IntegerPtr number, SerialInteger(serial));
  RevokedPtr revoked(X509_REVOKED_new());
  if (!revoked || X509_REVOKED_set_serialNumber(revoked.get(), number.get()) != 1 ||
      X509_REVOKED_set_revocationDate(revoked.get(), const_cast<ASN1_TIME*>(when)) != 1) {
    return OpensslError("X509_REVOKED_set_serialNumber");
  }
  if (X509_CRL_add0_revoked(crl, revoked.get()) != 1) return OpensslError("X509_CRL_add0_revoked");
  revoked.release();  // the CRL owns it now
  return absl::OkStatus();
}

absl::Status AddExtensions(X509_CRL* crl, X509* ca_cert, absl::Time this_update) {
  ssl::Asn1IntegerPtr number(ASN1_INTEGER_new());
  if (!number || ASN1_INTEGER_set_int64(number.get(), absl::ToUnixSeconds(this_update)) != 1 ||
      X509_CRL_add1_ext_i2d(crl, NID_crl_number, number.get(), 0, 0) != 1) {
    return OpensslError("X509_CRL_add1_ext_i2d(crlNumber)");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, ca_cert, nullptr, nullptr, crl, 0);
  ssl::X509ExtensionPtr aki(
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
  if (!aki || X509_CRL_add_ext(crl, aki.get(), -1) != 1) {
    return OpensslError("X509_CRL_add_ext(authorityKeyIdentifier)");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> CrlToPem(X509_CRL* crl) {
  ssl::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509_CRL(bio.get(), crl) != 1) {
    return OpensslError("PEM_write_bio_X509_CRL");
  }
  char* data = nullptr;
  long length = BIO_get_mem_data(bio.get(), &data);
  if (length < 0) return OpensslError("BIO_get_mem_data");
  return std::string(data, static_cast<size_t>(length));
}

absl::StatusOr<CrlPtr> ParseCrlPem(absl::string_view pem) {
  ssl::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return OpensslError("BIO_new_mem_buf");
  CrlPtr crl(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  if (!crl) {
    ssl::DrainErrors();
    return absl::InvalidArgumentError("not a PEM certificate revocation list");
  }
  if (X509_CRL_get_version(crl.get()) != X509_CRL_VERSION_2) {
    return absl::InvalidArgumentError("the revocation list is not an X.509 v2 CRL");
  }
  return crl;
}

// A critical extension kura does not issue (delta CRL indicator, issuing distribution point,
// certificate issuer of an indirect CRL) could change what the list means; refuse rather than
// misread it.
absl::Status RefuseCriticalExtensions(X509_CRL* crl) {
  const STACK_OF(X509_EXTENSION)* extensions = X509_CRL_get0_extensions(crl);
  for (int i = 0; i < sk_X509_EXTENSION_num(extensions); ++i) {
    if (X509_EXTENSION_get_critical(sk_X509_EXTENSION_value(extensions, i)) != 0) {
      return absl::InvalidArgumentError("the revocation list carries a critical extension");
    }
  }
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl);
  for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
    const STACK_OF(X509_EXTENSION)* entry =
        X509_REVOKED_get0_extensions(sk_X509_REVOKED_value(revoked, i));
    for (int j = 0; j < sk_X509_EXTENSION_num(entry); ++j) {
      if (X509_EXTENSION_get_critical(sk_X509_EXTENSION_value(entry, j)) != 0) {
        return absl::InvalidArgumentError("a revocation list entry carries a critical extension");
      }
    }
  }
  return absl::OkStatus();
}

absl::Status VerifySignature(X509_CRL* crl, X509* ca) {
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl), X509_get_subject_name(ca)) != 0) {
    return absl::UnauthenticatedError("the revocation list was not issued by kura's CA");
  }
  if (X509_CRL_get_signature_nid(crl) != NID_ecdsa_with_SHA256) {
    return absl::UnauthenticatedError("the revocation list is not signed with ECDSA-SHA256");
  }
  EVP_PKEY* key = X509_get0_pubkey(ca);
  if (key == nullptr || X509_CRL_verify(crl, key) != 1) {
    ssl::DrainErrors();
    return absl::UnauthenticatedError(
        "the revocation list's signature does not verify under kura's CA");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> CanonicalSerial(absl::string_view serial) {
  KURA_ASSIGN_OR_RETURN(ssl::Asn1IntegerPtr number, SerialInteger(serial));
  return SerialHex(number.get());
}

absl::StatusOr<std::string> BuildRevocationList(const KeyAndCertificate& ca,
                                                const std::vector<std::string>& revoked_serials,
                                                absl::Time this_update, absl::Time next_update) {
  if (next_update <= this_update) {
    return absl::InvalidArgumentError("a revocation list's nextUpdate must follow its thisUpdate");
  }
  KURA_ASSIGN_OR_RETURN(ssl::SigningCa signing,
                        ssl::ParseSigningCa(ca.certificate_pem, ca.key_pem));
  ssl::X509Ptr& ca_cert = signing.cert;
  ssl::Pkey& ca_key = signing.key;
  CrlPtr crl(X509_CRL_new());
  if (!crl || X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca_cert.get())) != 1) {
    return OpensslError("X509_CRL_new");
  }
  KURA_ASSIGN_OR_RETURN(Asn1TimePtr last, Asn1Time(this_update));
  KURA_ASSIGN_OR_RETURN(Asn1TimePtr next, Asn1Time(next_update));
  if (X509_CRL_set1_lastUpdate(crl.get(), last.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next.get()) != 1) {
    return OpensslError("X509_CRL_set1_lastUpdate");
  }
  for (const std::string& serial : revoked_serials) {
    KURA_RETURN_IF_ERROR(AddRevoked(crl.get(), serial, last.get()));
  }
  KURA_RETURN_IF_ERROR(AddExtensions(crl.get(), ca_cert.get(), this_update));
  if (X509_CRL_sort(crl.get()) != 1) return OpensslError("X509_CRL_sort");
  if (X509_CRL_sign(crl.get(), ca_key.get(), EVP_sha256()) == 0) {
    return OpensslError("X509_CRL_sign");
  }
  return CrlToPem(crl.get());
}

absl::StatusOr<RevocationList> VerifyRevocationList(absl::string_view crl_pem,
                                                    absl::string_view ca_pem, absl::Time now) {
  KURA_ASSIGN_OR_RETURN(ssl::X509Ptr ca, ssl::ParseCertificatePem(ca_pem, "the CA certificate"));
  if (X509_check_ca(ca.get()) < 1 || (X509_get_key_usage(ca.get()) & KU_CRL_SIGN) == 0) {
    return absl::InvalidArgumentError("the given CA certificate may not sign revocation lists");
  }
  KURA_ASSIGN_OR_RETURN(CrlPtr crl, ParseCrlPem(crl_pem));
  KURA_RETURN_IF_ERROR(VerifySignature(crl.get(), ca.get()));
  KURA_RETURN_IF_ERROR(RefuseCriticalExtensions(crl.get()));
  RevocationList list;
  KURA_ASSIGN_OR_RETURN(list.this_update,
                        ToAbslTime(X509_CRL_get0_lastUpdate(crl.get()), "thisUpdate"));
  if (X509_CRL_get0_nextUpdate(crl.get()) == nullptr) {
    return absl::InvalidArgumentError("the revocation list has no nextUpdate");
  }
  KURA_ASSIGN_OR_RETURN(list.next_update,
                        ToAbslTime(X509_CRL_get0_nextUpdate(crl.get()), "nextUpdate"));
  if (now >= list.next_update) {
    return absl::FailedPreconditionError(
        absl::StrCat("the revocation list expired at ",
                     absl::FormatTime(absl::RFC3339_sec, list.next_update, absl::UTCTimeZone())));
  }
  if (now + kClockSkew < list.this_update) {
    return absl::FailedPreconditionError(
        absl::StrCat("the revocation list is not valid before ",
                     absl::FormatTime(absl::RFC3339_sec, list.this_update, absl::UTCTimeZone())));
  }
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());
  for (int i = 0; i < sk_X509_REVOKED_num(revoked); ++i) {
    KURA_ASSIGN_OR_RETURN(
        std::string serial,
        SerialHex(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, i))));
    list.revoked_serials.insert(std::move(serial));
  }
  return list;
}

}  // namespace kura::gateway
