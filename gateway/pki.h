#pragma once

// kura's certificate authority: creating the CA, issuing the gateway's, nodes' and terminals'
// certificates, reading a peer's identity out of its certificate and verifying it against the CA.
//
// Every key is ECDSA P-256 (the curve every TLS 1.3 stack and gRPC accept), every signature
// ECDSA with SHA-256. Where the role, id and terminal class live in a certificate is written
// down in docs/pki.md; in short:
//   - the role is an ExtendedKeyUsage purpose under kura's arc (kKuraRoleOidArc + .1 gateway,
//     .2 node, .3 terminal), beside the standard serverAuth/clientAuth;
//   - the id (and a terminal's class) is the one kura:// URI in the SubjectAltName:
//     kura://gateway/<id>, kura://node/<id>, kura://terminal/<id>?class=standard|dedicated.
// Both must be present and agree, or the certificate is refused.
//
// Pure functions over PEM text; no file access here (see pki_files.h). Thread-safe.

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kura::gateway {

// kura's private OID arc: a UUID-derived OID under 2.25 (ITU-T X.667), which needs no
// registration and collides with nobody.
inline constexpr char kKuraRoleOidArc[] = "2.25.218958968897397133111769177965525806969";
inline constexpr char kGatewayRoleOid[] = "2.25.218958968897397133111769177965525806969.1";
inline constexpr char kNodeRoleOid[] = "2.25.218958968897397133111769177965525806969.2";
inline constexpr char kTerminalRoleOid[] = "2.25.218958968897397133111769177965525806969.3";

enum class PeerRole { kGateway, kNode, kTerminal };
enum class TerminalClass { kNone, kStandard, kDedicated };

absl::string_view PeerRoleName(PeerRole role);             // "gateway", "node", "terminal"
absl::string_view TerminalClassName(TerminalClass klass);  // "", "standard", "dedicated"
// Parses "standard" or "dedicated"; InvalidArgument otherwise.
absl::StatusOr<TerminalClass> ParseTerminalClass(absl::string_view text);

// OK when `id` may name a gateway, node or terminal: 1 to 64 of [A-Za-z0-9._-], not starting
// with '.' or '-'. InvalidArgument saying what is wrong otherwise.
absl::Status ValidatePeerId(absl::string_view id);

// A private key and its certificate, both PEM.
struct KeyAndCertificate {
  std::string key_pem;
  std::string certificate_pem;
};

// What a certificate to be issued says.
struct CertificateRequest {
  PeerRole role = PeerRole::kTerminal;
  std::string id;
  TerminalClass terminal_class = TerminalClass::kNone;  // required for terminals only
  std::vector<std::string> dns_names;                   // server certificates (gateway, node)
  std::vector<std::string> ip_addresses;                // textual IPv4/IPv6
  absl::Time not_before;
  absl::Time not_after;
};

// Who a verified (or merely parsed) certificate names.
struct PeerIdentity {
  PeerRole role = PeerRole::kTerminal;
  std::string id;
  TerminalClass terminal_class = TerminalClass::kNone;
  std::string serial;       // lowercase hex of the certificate's serial number
  std::string fingerprint;  // lowercase hex SHA-256 of the DER certificate
  absl::Time not_before;
  absl::Time not_after;
};

// Creates a self-signed CA (CN = `common_name`, CA:TRUE, pathlen 0, keyCertSign|cRLSign) valid
// from `now` - 5 min for `validity`.
absl::StatusOr<KeyAndCertificate> CreateCertificateAuthority(absl::string_view common_name,
                                                             absl::Time now,
                                                             absl::Duration validity);

// Issues a leaf certificate with a fresh key, signed by `ca`. InvalidArgument when the request
// is inconsistent (bad id, a terminal without a class, a class on a non-terminal, an empty or
// inverted validity window, a bad IP address).
absl::StatusOr<KeyAndCertificate> IssueCertificate(const KeyAndCertificate& ca,
                                                   const CertificateRequest& request);

// Reads the role, id, class, serial and fingerprint of a leaf certificate WITHOUT checking
// who signed it. InvalidArgument when the certificate does not carry exactly one kura role and
// one matching kura:// URI.
absl::StatusOr<PeerIdentity> ParsePeerIdentity(absl::string_view certificate_pem);

// Verifies `certificate_pem` as a peer with `expected_role`: signed by `ca_pem` (and nothing
// else), valid at `now`, serial not in `revoked_serials`, carrying that role. Returns its
// identity, or Unauthenticated with a message saying which check failed. `ca_pem` itself
// must be a CA certificate (InvalidArgument otherwise).
absl::StatusOr<PeerIdentity> VerifyPeerCertificate(
    absl::string_view certificate_pem, absl::string_view ca_pem,
    const absl::flat_hash_set<std::string>& revoked_serials, absl::Time now,
    PeerRole expected_role);

}  // namespace kura::gateway
