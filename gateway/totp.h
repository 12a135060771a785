#pragma once

// RFC 6238 time-based one-time passwords (RFC 4226 HOTP over OpenSSL HMAC), as pure
// functions. The gateway uses HMAC-SHA1, 30 s steps, 6 digits and accepts one step of drift
// either way; the store remembers the last accepted step per user so each code works once
// (TotpFactor in factor.h). Thread-safe.

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace kura::gateway {

struct TotpParameters {
  int64_t period_seconds = 30;
  int digits = 6;
  int window_steps = 1;         // steps of drift accepted either side of now
  std::string digest = "SHA1";  // what authenticator apps implement
};

// The step containing `now` (floor(unix seconds / period)).
int64_t TotpStepAt(absl::Time now, const TotpParameters& params = {});

// The code for `secret` (raw bytes) at `step`, zero-padded to params.digits.
absl::StatusOr<std::string> ComputeTotp(absl::string_view secret, int64_t step,
                                        const TotpParameters& params = {});

// The step within ±window_steps of now whose code equals `code`. Unauthenticated when none
// does or the code is not params.digits digits. Codes are compared in constant time.
absl::StatusOr<int64_t> FindTotpStep(absl::string_view secret, absl::string_view code,
                                     absl::Time now, const TotpParameters& params = {});

// A fresh 160-bit secret (RFC 4226's recommended length for SHA-1).
absl::StatusOr<std::string> NewTotpSecret();

// TOTP secrets at rest: "v1:" + hex(nonce ‖ AES-256-GCM ciphertext ‖ tag) under the 32-byte
// secrets key (DIR/pki/secrets.key), with the user's name as associated data, so a sealed
// secret copied to another user's row does not open.
inline constexpr absl::string_view kSealedTotpSecretPrefix = "v1:";
absl::StatusOr<std::string> SealTotpSecret(absl::string_view key, absl::string_view user,
                                           absl::string_view secret);
// The raw secret. DataLoss when `stored` is not in the sealed form (plaintext is never
// accepted) or does not open under `key` for `user`; InvalidArgument for a malformed key.
absl::StatusOr<std::string> OpenTotpSecret(absl::string_view key, absl::string_view user,
                                           absl::string_view stored);
// Whether `stored` has the sealed form (it may still fail to open).
bool IsSealedTotpSecret(absl::string_view stored);

// otpauth://totp/<issuer>:<user>?secret=<base32>&issuer=<issuer>&algorithm=SHA1&digits=6&period=30
// as authenticator apps read it (user and issuer must be URI-safe ids).
std::string TotpProvisioningUri(absl::string_view issuer, absl::string_view user,
                                absl::string_view secret, const TotpParameters& params = {});

}  // namespace kura::gateway
