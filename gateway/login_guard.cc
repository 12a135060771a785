#include "gateway/login_guard.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace kura::gateway {

absl::Duration LoginBackoff(int failures, const LoginGuardPolicy& policy) {
  if (failures <= 0) return absl::ZeroDuration();
  absl::Duration delay = policy.base_delay;
  for (int i = 1; i < failures && delay < policy.max_delay; ++i) delay *= 2;
  return std::min(delay, policy.max_delay);
}

absl::Status CheckLoginAllowed(const UserRecord& user, absl::Time now,
                               const LoginGuardPolicy& policy) {
  if (user.locked) {
    return absl::PermissionDeniedError(absl::StrCat(
        "account '", user.name, "' is locked after ", user.failed_attempts,
        " failed attempts; an operator must unlock it (kura-admin users unlock ", user.name, ")"));
  }
  if (user.failed_attempts == 0 || !user.last_failure.has_value()) return absl::OkStatus();
  absl::Time next_try = *user.last_failure + LoginBackoff(user.failed_attempts, policy);
  if (now < next_try) {
    return absl::ResourceExhaustedError(
        absl::StrCat("too many failed attempts for '", user.name, "'; try again in ",
                     absl::FormatDuration(absl::Ceil(next_try - now, absl::Seconds(1)))));
  }
  return absl::OkStatus();
}

}  // namespace kura::gateway
