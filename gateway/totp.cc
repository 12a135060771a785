#include "gateway/totp.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status.h"

namespace kura::gateway {

int64_t TotpStepAt(absl::Time now, const TotpParameters& params) {
  int64_t seconds = absl::ToUnixSeconds(now);
  int64_t step = seconds / params.period_seconds;
  if (seconds < 0 && seconds % params.period_seconds != 0) --step;
  return step;
}

absl::StatusOr<std::string> ComputeTotp(absl::string_view secret, int64_t step,
                                        const TotpParameters& params) {
  if (params.digits < 6 || params.digits > 9) {
    return absl::InvalidArgumentError("TOTP codes have 6 to 9 digits");
  }
  char counter[8];
  uint64_t value = static_cast<uint64_t>(step);
  for (int i = 7; i >= 0; --i) {
    counter[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  KURA_ASSIGN_OR_RETURN(std::string mac,
                        Hmac(params.digest, secret, absl::string_view(counter, sizeof(counter))));
  // RFC 4226 section 5.3: dynamic truncation.
  int offset = static_cast<unsigned char>(mac.back()) & 0x0f;
  uint32_t binary = (static_cast<uint32_t>(static_cast<unsigned char>(mac[offset]) & 0x7f) << 24) |
                    (static_cast<uint32_t>(static_cast<unsigned char>(mac[offset + 1])) << 16) |
                    (static_cast<uint32_t>(static_cast<unsigned char>(mac[offset + 2])) << 8) |
                    static_cast<uint32_t>(static_cast<unsigned char>(mac[offset + 3]));
  uint32_t modulus = 1;
  for (int i = 0; i < params.digits; ++i) modulus *= 10;
  std::string code = absl::StrCat(binary % modulus);
  return std::string(static_cast<size_t>(params.digits) - code.size(), '0') + code;
}

absl::StatusOr<int64_t> FindTotpStep(absl::string_view secret, absl::string_view code,
                                     absl::Time now, const TotpParameters& params) {
  bool well_formed = code.size() == static_cast<size_t>(params.digits);
  for (char c : code) well_formed = well_formed && c >= '0' && c <= '9';
  if (!well_formed) {
    return absl::UnauthenticatedError(
        absl::StrCat("a one-time code is ", params.digits, " digits"));
  }
  if (secret.empty()) return absl::UnauthenticatedError("no TOTP secret is enrolled");
  int64_t center = TotpStepAt(now, params);
  int64_t found = -1;
  // Every candidate is computed and compared, so timing does not tell which step matched.
  for (int64_t step = center - params.window_steps; step <= center + params.window_steps; ++step) {
    KURA_ASSIGN_OR_RETURN(std::string expected, ComputeTotp(secret, step, params));
    if (ConstantTimeEquals(expected, code) && found < 0) found = step;
  }
  if (found < 0) return absl::UnauthenticatedError("wrong one-time code");
  return found;
}

absl::StatusOr<std::string> NewTotpSecret() { return RandomBytes(20); }

absl::StatusOr<std::string> SealTotpSecret(absl::string_view key, absl::string_view user,
                                           absl::string_view secret) {
  KURA_ASSIGN_OR_RETURN(std::string sealed, AesGcmSeal(key, secret, user));
  return absl::StrCat(kSealedTotpSecretPrefix, HexEncode(sealed));
}

absl::StatusOr<std::string> OpenTotpSecret(absl::string_view key, absl::string_view user,
                                           absl::string_view stored) {
  if (!IsSealedTotpSecret(stored)) {
    return absl::DataLossError("the stored TOTP secret is not sealed");
  }
  absl::StatusOr<std::string> sealed = HexDecode(stored.substr(kSealedTotpSecretPrefix.size()));
  if (!sealed.ok()) return absl::DataLossError("the stored TOTP secret is not hex after v1:");
  return AesGcmOpen(key, *sealed, user);
}

bool IsSealedTotpSecret(absl::string_view stored) {
  return absl::StartsWith(stored, kSealedTotpSecretPrefix);
}

std::string TotpProvisioningUri(absl::string_view issuer, absl::string_view user,
                                absl::string_view secret, const TotpParameters& params) {
  return absl::StrCat("otpauth://totp/", issuer, ":", user, "?secret=", Base32Encode(secret),
                      "&issuer=", issuer, "&algorithm=", params.digest, "&digits=", params.digits,
                      "&period=", params.period_seconds);
}

}  // namespace kura::gateway
