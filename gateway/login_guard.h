#pragma once

// The rate limit and lockout on second factors, as pure logic over a user's failure count and
// the time of their last failure (both kept in the store), with the clock passed in.
//
// After n consecutive failures the next try waits base_delay * 2^(n-1), at most max_delay;
// at lock_after failures the account locks until an operator unlocks it
// (`kura-admin users unlock NAME`). A success clears the count. Thread-safe.

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gateway/records.h"

namespace kura::gateway {

struct LoginGuardPolicy {
  int lock_after = 5;
  absl::Duration base_delay = absl::Seconds(1);
  absl::Duration max_delay = absl::Minutes(5);
};

// How long after the last failure the next try must wait, given `failures` so far.
absl::Duration LoginBackoff(int failures, const LoginGuardPolicy& policy = {});

// OK when `user` may present a second factor at `now`. PermissionDenied when the account is
// locked, ResourceExhausted (saying how long to wait) while backing off.
absl::Status CheckLoginAllowed(const UserRecord& user, absl::Time now,
                               const LoginGuardPolicy& policy = {});

}  // namespace kura::gateway
