#pragma once

// Certificate revocation lists signed by kura's CA: how a revocation the operator records
// reaches the analysis nodes without passing through the gateway, whose stolen key may be what
// the revocation is about. X.509 v2 CRLs in PEM, signed ECDSA-SHA256 by the CA key, carrying
// a CRL number (thisUpdate in Unix seconds, so a later list has a larger number) and the CA's
// key identifier; docs/pki.md says what a node does with one.
//
// Serials are written the way PeerIdentity::serial is: lowercase hex of the serial number.
//
// Pure functions over PEM text; no file access here (see pki_files.h). Thread-safe.

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gateway/pki.h"

namespace kura::gateway {

// What a verified CRL says.
struct RevocationList {
  absl::flat_hash_set<std::string> revoked_serials;  // lowercase hex, as PeerIdentity::serial
  absl::Time this_update;
  absl::Time next_update;
};

// The serial in the form PeerIdentity::serial has ("0A1B" and "a1b" both give "0a1b"), or
// InvalidArgument when `serial` is not a positive hexadecimal number.
absl::StatusOr<std::string> CanonicalSerial(absl::string_view serial);

// Builds a CRL issued and signed by `ca` listing `revoked_serials` (hex, any case), each with
// revocationDate `this_update`. InvalidArgument when a serial is not hex, `next_update` is not
// after `this_update`, or the CA key does not belong to the CA certificate.
absl::StatusOr<std::string> BuildRevocationList(const KeyAndCertificate& ca,
                                                const std::vector<std::string>& revoked_serials,
                                                absl::Time this_update, absl::Time next_update);

// Verifies `crl_pem` against `ca_pem` at `now` and returns what it lists. Errors:
//   InvalidArgument     not one PEM v2 CRL, no nextUpdate, a critical extension (a delta or
//                       indirect CRL, which kura never issues), or `ca_pem` not a CA;
//   Unauthenticated     not issued by that CA, or its signature does not verify;
//   FailedPrecondition  `now` is at or past nextUpdate, or more than 5 minutes before
//                       thisUpdate.
absl::StatusOr<RevocationList> VerifyRevocationList(absl::string_view crl_pem,
                                                    absl::string_view ca_pem, absl::Time now);

}  // namespace kura::gateway
