#include "gateway/pki.h"

#include <openssl/bn.h>
#include <openssl/ec.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/crypto.h"
#include "common/status.h"
#include "gateway/openssl_types.h"

namespace kura::gateway {
namespace {

using ssl::OpensslError;

absl::StatusOr<ssl::Pkey> GenerateP256Key() {
  ssl::Pkey key(EVP_EC_gen("P-256"));
  if (!key) return OpensslError("EVP_EC_gen(P-256)");
  return key;
}

// A positive 127-bit random serial: unique without a counter and never negative in DER.
absl::Status SetRandomSerial(X509* cert) {
  KURA_ASSIGN_OR_RETURN(std::string bytes, RandomBytes(16));
  bytes[0] = static_cast<char>(bytes[0] & 0x7f);
  ssl::BignumPtr bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()),
                              static_cast<int>(bytes.size()), nullptr));
  if (!bn) return OpensslError("BN_bin2bn");
  ssl::Asn1IntegerPtr serial(BN_to_ASN1_INTEGER(bn.get(), nullptr));
  if (!serial || X509_set_serialNumber(cert, serial.get()) != 1) {
    return OpensslError("X509_set_serialNumber");
  }
  return absl::OkStatus();
}

absl::Status SetName(X509* cert, absl::string_view common_name, bool also_issuer) {
  X509_NAME* name = X509_get_subject_name(cert);
  auto add = [&](const char* field, absl::string_view value) {
    return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                      reinterpret_cast<const unsigned char*>(value.data()),
                                      static_cast<int>(value.size()), -1, 0) == 1;
  };
  if (!add("O", "kura") || !add("CN", common_name)) return OpensslError("X509_NAME_add_entry");
  if (also_issuer && X509_set_issuer_name(cert, name) != 1) {
    return OpensslError("X509_set_issuer_name");
  }
  return absl::OkStatus();
}

absl::Status SetValidity(X509* cert, absl::Time not_before, absl::Time not_after) {
  if (not_after <= not_before) {
    return absl::InvalidArgumentError("certificate validity ends before it begins");
  }
  if (ASN1_TIME_set(X509_getm_notBefore(cert), absl::ToTimeT(not_before)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert), absl::ToTimeT(not_after)) == nullptr) {
    return OpensslError("ASN1_TIME_set");
  }
  return absl::OkStatus();
}

// Adds one extension written in OpenSSL's configuration syntax ("critical,CA:FALSE").
absl::Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ssl::X509ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  if (!ext) return OpensslError(absl::StrCat("extension ", OBJ_nid2sn(nid), "=", value));
  if (X509_add_ext(cert, ext.get(), -1) != 1) return OpensslError("X509_add_ext");
  return absl::OkStatus();
}

absl::StatusOr<ssl::X509Ptr> NewCertificate(EVP_PKEY* key) {
  ssl::X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1 || X509_set_pubkey(cert.get(), key) != 1) {
    return OpensslError("X509_new");
  }
  KURA_RETURN_IF_ERROR(SetRandomSerial(cert.get()));
  return cert;
}

absl::StatusOr<KeyAndCertificate> SignAndExport(X509* cert, EVP_PKEY* signer, EVP_PKEY* key) {
  if (X509_sign(cert, signer, EVP_sha256()) == 0) return OpensslError("X509_sign");
  KeyAndCertificate out;
  KURA_ASSIGN_OR_RETURN(out.key_pem, ssl::PrivateKeyToPem(key));
  KURA_ASSIGN_OR_RETURN(out.certificate_pem, ssl::CertificateToPem(cert));
  return out;
}

absl::Status ValidateRequest(const CertificateRequest& request) {
  KURA_RETURN_IF_ERROR(ValidatePeerId(request.id));
  bool is_terminal = request.role == PeerRole::kTerminal;
  if (is_terminal && request.terminal_class == TerminalClass::kNone) {
    return absl::InvalidArgumentError("a terminal certificate needs a class (standard|dedicated)");
  }
  if (!is_terminal && request.terminal_class != TerminalClass::kNone) {
    return absl::InvalidArgumentError("only terminal certificates carry a terminal class");
  }
  if (is_terminal && (!request.dns_names.empty() || !request.ip_addresses.empty())) {
    return absl::InvalidArgumentError("terminal certificates carry no DNS names or addresses");
  }
  for (const std::string& dns : request.dns_names) {
    if (dns.empty() || dns.find_first_of(",:/ \n") != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("invalid DNS name '", dns, "'"));
    }
  }
  for (const std::string& ip : request.ip_addresses) {
    ssl::Asn1OctetStringPtr parsed(a2i_IPADDRESS(ip.c_str()));
    if (!parsed) {
      ssl::DrainErrors();
      return absl::InvalidArgumentError(absl::StrCat("invalid IP address '", ip, "'"));
    }
  }
  return absl::OkStatus();
}

std::string IdentityUri(const CertificateRequest& request) {
  std::string uri = absl::StrCat("kura://", PeerRoleName(request.role), "/", request.id);
  if (request.role == PeerRole::kTerminal) {
    absl::StrAppend(&uri, "?class=", TerminalClassName(request.terminal_class));
  }
  return uri;
}

std::string ExtendedKeyUsage(PeerRole role) {
  switch (role) {
    case PeerRole::kGateway:
      return absl::StrCat("serverAuth,clientAuth,", kGatewayRoleOid);
    case PeerRole::kNode:
      return absl::StrCat("serverAuth,clientAuth,", kNodeRoleOid);
    case PeerRole::kTerminal:
      return absl::StrCat("clientAuth,", kTerminalRoleOid);
  }
  std::abort();
}

std::string SubjectAltName(const CertificateRequest& request) {
  std::vector<std::string> names = {absl::StrCat("URI:", IdentityUri(request))};
  for (const std::string& dns : request.dns_names) names.push_back(absl::StrCat("DNS:", dns));
  for (const std::string& ip : request.ip_addresses) names.push_back(absl::StrCat("IP:", ip));
  return absl::StrJoin(names, ",");
}

}  // namespace

absl::string_view PeerRoleName(PeerRole role) {
  switch (role) {
    case PeerRole::kGateway:
      return "gateway";
    case PeerRole::kNode:
      return "node";
    case PeerRole::kTerminal:
      return "terminal";
  }
  return "unknown";
}

absl::string_view TerminalClassName(TerminalClass klass) {
  switch (klass) {
    case TerminalClass::kNone:
      return "";
    case TerminalClass::kStandard:
      return "standard";
    case TerminalClass::kDedicated:
      return "dedicated";
  }
  return "";
}

absl::StatusOr<TerminalClass> ParseTerminalClass(absl::string_view text) {
  if (text == "standard") return TerminalClass::kStandard;
  if (text == "dedicated") return TerminalClass::kDedicated;
  return absl::InvalidArgumentError(
      absl::StrCat("terminal class must be 'standard' or 'dedicated', not '", text, "'"));
}

absl::Status ValidatePeerId(absl::string_view id) {
  if (id.empty() || id.size() > 64) {
    return absl::InvalidArgumentError("an id must have 1 to 64 characters");
  }
  if (id[0] == '.' || id[0] == '-') {
    return absl::InvalidArgumentError(absl::StrCat("id '", id, "' must not start with '.' or '-'"));
  }
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("id '", id, "' may contain only letters, digits, '.', '_' and '-'"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<KeyAndCertificate> CreateCertificateAuthority(absl::string_view common_name,
                                                             absl::Time now,
                                                             absl::Duration validity) {
  KURA_ASSIGN_OR_RETURN(ssl::Pkey key, GenerateP256Key());
  KURA_ASSIGN_OR_RETURN(ssl::X509Ptr cert, NewCertificate(key.get()));
  KURA_RETURN_IF_ERROR(SetName(cert.get(), common_name, /*also_issuer=*/true));
  KURA_RETURN_IF_ERROR(SetValidity(cert.get(), now - absl::Minutes(5), now + validity));
  X509* c = cert.get();
  KURA_RETURN_IF_ERROR(AddExtension(c, c, NID_basic_constraints, "critical,CA:TRUE,pathlen:0"));
  KURA_RETURN_IF_ERROR(AddExtension(c, c, NID_key_usage, "critical,keyCertSign,cRLSign"));
  KURA_RETURN_IF_ERROR(AddExtension(c, c, NID_subject_key_identifier, "hash"));
  KURA_RETURN_IF_ERROR(AddExtension(c, c, NID_authority_key_identifier, "keyid:always"));
  return SignAndExport(c, key.get(), key.get());
}

absl::StatusOr<KeyAndCertificate> IssueCertificate(const KeyAndCertificate& ca,
                                                   const CertificateRequest& request) {
  KURA_RETURN_IF_ERROR(ValidateRequest(request));
  KURA_ASSIGN_OR_RETURN(ssl::SigningCa signing,
                        ssl::ParseSigningCa(ca.certificate_pem, ca.key_pem));
  ssl::X509Ptr& ca_cert = signing.cert;
  ssl::Pkey& ca_key = signing.key;
  KURA_ASSIGN_OR_RETURN(ssl::Pkey key, GenerateP256Key());
  KURA_ASSIGN_OR_RETURN(ssl::X509Ptr cert, NewCertificate(key.get()));
  X509* c = cert.get();
  KURA_RETURN_IF_ERROR(
      SetName(c, absl::StrCat(PeerRoleName(request.role), " ", request.id), false));
  if (X509_set_issuer_name(c, X509_get_subject_name(ca_cert.get())) != 1) {
    return OpensslError("X509_set_issuer_name");
  }
  KURA_RETURN_IF_ERROR(SetValidity(c, request.not_before, request.not_after));
  X509* issuer = ca_cert.get();
  KURA_RETURN_IF_ERROR(AddExtension(c, issuer, NID_basic_constraints, "critical,CA:FALSE"));
  KURA_RETURN_IF_ERROR(AddExtension(c, issuer, NID_key_usage, "critical,digitalSignature"));
  KURA_RETURN_IF_ERROR(AddExtension(c, issuer, NID_ext_key_usage, ExtendedKeyUsage(request.role)));
  KURA_RETURN_IF_ERROR(AddExtension(c, issuer, NID_subject_alt_name, SubjectAltName(request)));
  KURA_RETURN_IF_ERROR(AddExtension(c, issuer, NID_subject_key_identifier, "hash"));
  KURA_RETURN_IF_ERROR(AddExtension(c, issuer, NID_authority_key_identifier, "keyid:always"));
  return SignAndExport(c, ca_key.get(), key.get());
}

}  // namespace kura::gateway
