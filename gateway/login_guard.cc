#include "gateway/login_guard.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace kura::gateway {

absl::Duration LoginBackoff(int failures, const LoginGuardPolicy& policy) {
  if (failures <= 0) return absl::ZeroDuration();
  absl::Duration delay = policy.base_delay;
  for (int i = 1; i < failures && delay < policy.max_delay; ++i) delay *= 2;
  return std::min(delay, policy.max_delay);
}

absl::Status CheckLoginAllowed(const LoginThrottle& throttle, absl::Time now,
                               const LoginGuardPolicy& policy) {
  if (throttle.locked) {
    return absl::PermissionDeniedError(
        absl::StrCat("locked after ", throttle.failed_attempts, " failed attempts"));
  }
  if (throttle.failed_attempts == 0 || !throttle.last_failure.has_value()) {
    return absl::OkStatus();
  }
  absl::Time next_try = *throttle.last_failure + LoginBackoff(throttle.failed_attempts, policy);
  if (now < next_try) {
    return absl::ResourceExhaustedError(
        absl::StrCat("too many failed logins; try again in ",
                     absl::FormatDuration(absl::Ceil(next_try - now, absl::Seconds(1)))));
  }
  return absl::OkStatus();
}

}  // namespace kura::gateway
