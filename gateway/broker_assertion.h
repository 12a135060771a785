#pragma once

// The VDI broker's assertion that a user passed its biometric check at a terminal.
//
// The broker signs, with its Ed25519 key (registered with the gateway), these exact bytes
// (docs/pki.md, "VDI broker assertions"):
//
//   kura-vdi-assertion-v1\n
//   user=<user>\n
//   terminal=<terminal id>\n
//   time=<unix seconds, decimal>\n
//   nonce=<nonce>\n
//
// user and terminal are ids ([A-Za-z0-9._-], 1..64, see ValidatePeerId) and the nonce is 16 to
// 128 characters of [A-Za-z0-9_-], so no field can contain a newline or '=' and the form is
// unambiguous. On the wire an assertion is a JSON object
//   {"user": ..., "terminal": ..., "time": <int>, "nonce": ..., "signature": <base64url>}.
// Pure functions; thread-safe.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kura::gateway {

struct BrokerAssertion {
  std::string user;
  std::string terminal_id;
  int64_t time_unix_seconds = 0;
  std::string nonce;
  std::string signature;  // raw 64 bytes
};

// The bytes the broker signs. InvalidArgument when a field breaks the rules above.
absl::StatusOr<std::string> BrokerAssertionSignedBytes(const BrokerAssertion& assertion);

// JSON wire form, both ways. Parsing refuses unknown types and missing fields.
std::string EncodeBrokerAssertion(const BrokerAssertion& assertion);
absl::StatusOr<BrokerAssertion> ParseBrokerAssertion(absl::string_view json);

// What a broker does (and the tests): fills in the signature with `broker_private_key`.
absl::StatusOr<BrokerAssertion> SignBrokerAssertion(BrokerAssertion assertion,
                                                    absl::string_view broker_private_key);

// Checks everything but the nonce's one-time use: the signature under `broker_public_key`,
// that it names `user` at `terminal_id`, and that its time is within `max_age` of `now`
// either way. Unauthenticated saying which check failed.
absl::Status CheckBrokerAssertion(const BrokerAssertion& assertion,
                                  absl::string_view broker_public_key, absl::string_view user,
                                  absl::string_view terminal_id, absl::Time now,
                                  absl::Duration max_age);

}  // namespace kura::gateway
