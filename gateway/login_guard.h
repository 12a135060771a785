#pragma once

// The rate limit and lockout on second factors, as pure logic over a failure count and the
// time of the last failure (kept in the store: a user's in its row, a name that is no user's in
// unknown_login_names), with the clock passed in.
//
// After n consecutive failures the next try waits base_delay * 2^(n-1), at most max_delay;
// at lock_after failures the account locks until an operator unlocks it
// (`kura-admin users unlock NAME`). A success clears the count. Names that are no user are
// counted, backed off and "locked" alike, so neither tells whether a name exists; the store
// keeps at most unknown_names_kept of them. Thread-safe.

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "gateway/records.h"

namespace kura::gateway {

struct LoginGuardPolicy {
  int lock_after = 5;
  absl::Duration base_delay = absl::Seconds(1);
  absl::Duration max_delay = absl::Minutes(5);
  int unknown_names_kept = 10000;
};

// How long after the last failure the next try must wait, given `failures` so far.
absl::Duration LoginBackoff(int failures, const LoginGuardPolicy& policy = {});

// OK when a second factor may be presented at `now` under `throttle`. PermissionDenied when
// locked, ResourceExhausted (saying how long to wait) while backing off. The messages name
// neither the user nor the count, so they read the same for a name that is no user.
absl::Status CheckLoginAllowed(const LoginThrottle& throttle, absl::Time now,
                               const LoginGuardPolicy& policy = {});

}  // namespace kura::gateway
