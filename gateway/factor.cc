#include "gateway/factor.h"

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "gateway/broker_assertion.h"

namespace kura::gateway {

absl::Status TotpFactor::Verify(const FactorChallenge& challenge, absl::string_view proof) {
  absl::StatusOr<UserRecord> user = store_.GetUser(challenge.user);
  if (absl::IsNotFound(user.status())) {
    return absl::UnauthenticatedError(absl::StrCat("no user '", challenge.user, "'"));
  }
  KURA_RETURN_IF_ERROR(user.status());
  if (user->totp_secret.empty()) {
    return absl::UnauthenticatedError(
        absl::StrCat("user '", challenge.user, "' has no TOTP factor enrolled"));
  }
  KURA_ASSIGN_OR_RETURN(int64_t step,
                        FindTotpStep(user->totp_secret, proof, challenge.now, params_));
  absl::Status consumed = store_.ConsumeTotpStep(challenge.user, step);
  if (absl::IsAlreadyExists(consumed)) {
    return absl::UnauthenticatedError("this one-time code was already used; wait for the next one");
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
    return absl::UnauthenticatedError("this broker assertion was already used (replay)");
  }
  return consumed;
}

}  // namespace kura::gateway
