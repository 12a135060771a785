#include "gateway/factor.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "gateway/broker_assertion.h"

namespace kura::gateway {

namespace {

// Stands in for the secret of a name that is no user, so that its code is computed and compared
// as a user's would be; whatever it matches, that name is refused.
constexpr absl::string_view kStandInSecret = "kura-no-such-user-20";

}  // namespace

absl::Status TotpFactor::Verify(const FactorChallenge& challenge, absl::string_view proof) {
  absl::StatusOr<std::string> secret = store_.GetTotpSecret(challenge.user);
  if (absl::IsNotFound(secret.status()) || (secret.ok() && secret->empty())) {
    (void)FindTotpStep(kStandInSecret, proof, challenge.now, params_);
    return absl::UnauthenticatedError(
        secret.ok() ? absl::StrCat("user '", challenge.user, "' has no TOTP factor enrolled")
                    : absl::StrCat("no user '", challenge.user, "'"));
  }
  // A missing or wrong secrets key: Internal, logged by the caller, never a plaintext fallback.
  KURA_RETURN_IF_ERROR(secret.status());
  KURA_ASSIGN_OR_RETURN(int64_t step, FindTotpStep(*secret, proof, challenge.now, params_));
  absl::Status consumed = store_.ConsumeTotpStep(challenge.user, step);
  if (absl::IsAlreadyExists(consumed)) {
    return absl::AlreadyExistsError("this one-time code was already used (replay)");
  }
  return consumed;
}

absl::Status BrokerAssertionFactor::Verify(const FactorChallenge& challenge,
                                           absl::string_view proof) {
  absl::StatusOr<BrokerAssertion> assertion = ParseBrokerAssertion(proof);
  if (!assertion.ok()) return absl::UnauthenticatedError(assertion.status().message());
  KURA_RETURN_IF_ERROR(CheckBrokerAssertion(*assertion, broker_public_key_, challenge.user,
                                            challenge.terminal_id, challenge.now, max_age_));
  // Remembered until the assertion could no longer pass the freshness check anyway.
  absl::Time expires = absl::FromUnixSeconds(assertion->time_unix_seconds) + max_age_;
  absl::Status consumed =
      store_.ConsumeNonce("vdi-broker", assertion->nonce, expires, challenge.now);
  if (absl::IsAlreadyExists(consumed)) {
    return absl::AlreadyExistsError("this broker assertion was already used (replay)");
  }
  return consumed;
}

}  // namespace kura::gateway
