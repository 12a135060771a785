// Reading and verifying a peer's identity: the second half of pki.h.

#include <openssl/bn.h>

#include <ctime>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/crypto.h"
#include "common/status.h"
#include "gateway/openssl_types.h"
#include "gateway/pki.h"

namespace kura::gateway {
namespace {

absl::StatusOr<absl::Time> ToAbslTime(const ASN1_TIME* time) {
  struct tm tm = {};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) {
    return absl::InvalidArgumentError("certificate has an unreadable validity time");
  }
  return absl::FromTimeT(timegm(&tm));
}

absl::StatusOr<std::string> SerialHex(X509* cert) {
  ssl::BignumPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr));
  if (!bn) return ssl::OpensslError("ASN1_INTEGER_to_BN");
  char* hex = BN_bn2hex(bn.get());
  if (hex == nullptr) return ssl::OpensslError("BN_bn2hex");
  std::string out = absl::AsciiStrToLower(hex);
  OPENSSL_free(hex);
  return out;
}

absl::StatusOr<std::string> Fingerprint(X509* cert) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(cert, EVP_sha256(), digest, &length) != 1) {
    return ssl::OpensslError("X509_digest");
  }
  return HexEncode(absl::string_view(reinterpret_cast<const char*>(digest), length));
}

std::string ObjectText(const ASN1_OBJECT* object) {
  char buffer[128];
  int n = OBJ_obj2txt(buffer, sizeof(buffer), object, /*no_name=*/1);
  if (n <= 0 || n >= static_cast<int>(sizeof(buffer))) return "";
  return buffer;
}

// The one kura role among the certificate's ExtendedKeyUsage purposes.
absl::StatusOr<PeerRole> RoleFromExtendedKeyUsage(X509* cert) {
  int critical = 0;
  ssl::ExtendedKeyUsagePtr eku(static_cast<EXTENDED_KEY_USAGE*>(
      X509_get_ext_d2i(cert, NID_ext_key_usage, &critical, nullptr)));
  if (!eku) {
    return absl::InvalidArgumentError(critical == -2
                                          ? "certificate has more than one ExtendedKeyUsage"
                                          : "certificate has no ExtendedKeyUsage with a kura role");
  }
  const std::string prefix = absl::StrCat(kKuraRoleOidArc, ".");
  int found = 0;
  PeerRole role = PeerRole::kTerminal;
  for (int i = 0; i < sk_ASN1_OBJECT_num(eku.get()); ++i) {
    std::string oid = ObjectText(sk_ASN1_OBJECT_value(eku.get(), i));
    if (!absl::StartsWith(oid, prefix)) continue;
    ++found;
    if (oid == kGatewayRoleOid) {
      role = PeerRole::kGateway;
    } else if (oid == kNodeRoleOid) {
      role = PeerRole::kNode;
    } else if (oid == kTerminalRoleOid) {
      role = PeerRole::kTerminal;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("certificate has unknown kura role ", oid));
    }
  }
  if (found != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate must carry exactly one kura role, carries ", found));
  }
  return role;
}

// The one kura:// URI among the certificate's SubjectAltNames.
absl::StatusOr<std::string> IdentityUri(X509* cert) {
  int critical = 0;
  ssl::GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(cert, NID_subject_alt_name, &critical, nullptr)));
  if (!names) return absl::InvalidArgumentError("certificate has no kura:// SubjectAltName URI");
  std::string uri;
  int found = 0;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
    if (name->type != GEN_URI) continue;
    const ASN1_IA5STRING* ia5 = name->d.uniformResourceIdentifier;
    std::string text(reinterpret_cast<const char*>(ASN1_STRING_get0_data(ia5)),
                     static_cast<size_t>(ASN1_STRING_length(ia5)));
    if (!absl::StartsWith(text, "kura://")) continue;
    ++found;
    uri = std::move(text);
  }
  if (found != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate must carry exactly one kura:// URI, carries ", found));
  }
  return uri;
}

// Fills role-checked id and class from "kura://<role>/<id>[?class=<class>]".
absl::Status ParseIdentityUri(absl::string_view uri, PeerIdentity& identity) {
  absl::string_view rest = absl::StripPrefix(uri, "kura://");
  absl::string_view role_name = PeerRoleName(identity.role);
  if (!absl::ConsumePrefix(&rest, role_name) || !absl::ConsumePrefix(&rest, "/")) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate URI ", uri, " does not match its kura role ", role_name));
  }
  size_t query = rest.find('?');
  absl::string_view id = rest.substr(0, query);
  KURA_RETURN_IF_ERROR(ValidatePeerId(id));
  identity.id = std::string(id);
  if (identity.role != PeerRole::kTerminal) {
    if (query != absl::string_view::npos) {
      return absl::InvalidArgumentError(absl::StrCat("certificate URI ", uri, " has a query"));
    }
    return absl::OkStatus();
  }
  absl::string_view params =
      query == absl::string_view::npos ? absl::string_view() : rest.substr(query + 1);
  if (!absl::ConsumePrefix(&params, "class=")) {
    return absl::InvalidArgumentError(absl::StrCat("terminal URI ", uri, " has no class"));
  }
  KURA_ASSIGN_OR_RETURN(identity.terminal_class, ParseTerminalClass(params));
  return absl::OkStatus();
}

absl::StatusOr<PeerIdentity> IdentityOf(X509* cert) {
  PeerIdentity identity;
  KURA_ASSIGN_OR_RETURN(identity.role, RoleFromExtendedKeyUsage(cert));
  KURA_ASSIGN_OR_RETURN(std::string uri, IdentityUri(cert));
  KURA_RETURN_IF_ERROR(ParseIdentityUri(uri, identity));
  KURA_ASSIGN_OR_RETURN(identity.serial, SerialHex(cert));
  KURA_ASSIGN_OR_RETURN(identity.fingerprint, Fingerprint(cert));
  KURA_ASSIGN_OR_RETURN(identity.not_before, ToAbslTime(X509_get0_notBefore(cert)));
  KURA_ASSIGN_OR_RETURN(identity.not_after, ToAbslTime(X509_get0_notAfter(cert)));
  return identity;
}

std::string ChainError(int error, const PeerIdentity& claimed) {
  switch (error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return absl::StrCat("certificate expired at ", absl::FormatTime(claimed.not_after));
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return absl::StrCat("certificate is not valid before ", absl::FormatTime(claimed.not_before));
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      return "certificate was not issued by kura's CA";
    default:
      return absl::StrCat("certificate does not verify: ", X509_verify_cert_error_string(error));
  }
}

absl::Status VerifyChain(X509* cert, X509* ca, absl::Time now, const PeerIdentity& claimed) {
  ssl::X509StorePtr store(X509_STORE_new());
  ssl::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !ctx || X509_STORE_add_cert(store.get(), ca) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), cert, nullptr) != 1) {
    return ssl::OpensslError("X509_STORE setup");
  }
  X509_STORE_CTX_set_time(ctx.get(), 0, absl::ToTimeT(now));
  X509_STORE_CTX_set_flags(ctx.get(), X509_V_FLAG_X509_STRICT);
  if (X509_verify_cert(ctx.get()) == 1) return absl::OkStatus();
  int error = X509_STORE_CTX_get_error(ctx.get());
  ssl::DrainErrors();
  return absl::UnauthenticatedError(ChainError(error, claimed));
}

}  // namespace

absl::StatusOr<PeerIdentity> ParsePeerIdentity(absl::string_view certificate_pem) {
  KURA_ASSIGN_OR_RETURN(ssl::X509Ptr cert,
                        ssl::ParseCertificatePem(certificate_pem, "the peer certificate"));
  return IdentityOf(cert.get());
}

absl::StatusOr<PeerIdentity> VerifyPeerCertificate(
    absl::string_view certificate_pem, absl::string_view ca_pem,
    const absl::flat_hash_set<std::string>& revoked_serials, absl::Time now,
    PeerRole expected_role) {
  KURA_ASSIGN_OR_RETURN(ssl::X509Ptr ca, ssl::ParseCertificatePem(ca_pem, "the CA certificate"));
  if (X509_check_ca(ca.get()) <= 0) {
    return absl::InvalidArgumentError("the CA certificate is not a CA");
  }
  absl::StatusOr<ssl::X509Ptr> cert =
      ssl::ParseCertificatePem(certificate_pem, "the peer certificate");
  if (!cert.ok()) return absl::UnauthenticatedError(cert.status().message());
  absl::StatusOr<PeerIdentity> identity = IdentityOf(cert->get());
  if (!identity.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("not a kura peer certificate: ", identity.status().message()));
  }
  KURA_RETURN_IF_ERROR(VerifyChain(cert->get(), ca.get(), now, *identity));
  if (revoked_serials.contains(identity->serial)) {
    return absl::UnauthenticatedError(absl::StrCat(PeerRoleName(identity->role), " certificate ",
                                                   identity->serial, " (", identity->id,
                                                   ") has been revoked"));
  }
  if (identity->role != expected_role) {
    return absl::UnauthenticatedError(
        absl::StrCat("a ", PeerRoleName(identity->role), " certificate cannot act as a ",
                     PeerRoleName(expected_role), " (", identity->id, ")"));
  }
  return identity;
}

}  // namespace kura::gateway
