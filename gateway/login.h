#pragma once

// Login: a verified terminal certificate + a user name + one second factor gives a session.
//
// Authenticator runs the steps in order: the terminal is registered and not revoked and its
// certificate is the registered one; the account is not locked or backing off
// (login_guard.h); the named factor accepts the proof; the user exists. A failed factor is
// counted and may lock the account.
//
// A login must not tell whether a user exists. A name that is no user goes through the same
// steps as a user: its own failure count in the store (backoff and lockout alike), the factor
// run against a stand-in (factor.h), one failure written; and every refusal of the user or
// the factor (unknown user, wrong code, replayed code or assertion, locked account) reaches
// the caller as the same UNAUTHENTICATED message, kTotpLoginRefused or kBrokerLoginRefused.
// Only the audit event (action "login", outcome "denied") keeps the precise reason. Refusals
// of the terminal are told as they are: the terminal's certificate is the caller's own.
// Thread-safe once its factors are added.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/factor.h"
#include "gateway/login_guard.h"
#include "gateway/pki.h"
#include "gateway/session.h"
#include "gateway/store.h"

namespace kura::gateway {

struct LoginRequest {
  std::string user;
  PeerIdentity terminal;  // from VerifyPeerCertificate(..., PeerRole::kTerminal)
  std::string factor;     // SecondFactor::Name(): "totp" or "vdi-broker"
  std::string proof;      // the code, or the broker assertion's JSON
};

// What the caller is told when the user or the second factor is refused, whatever the reason.
inline constexpr absl::string_view kTotpLoginRefused = "login refused: unknown user or wrong code";
inline constexpr absl::string_view kBrokerLoginRefused =
    "login refused: unknown user or broker assertion not accepted";

class Authenticator final {
 public:
  Authenticator(Store& store, SessionManager& sessions, LoginGuardPolicy policy = {})
      : store_(store), sessions_(sessions), policy_(policy) {}

  // Not thread-safe: add every factor before the first Login.
  void AddFactor(std::unique_ptr<SecondFactor> factor);

  // Unauthenticated (terminal refused, saying why; user, factor or locked account refused,
  // with kTotpLoginRefused / kBrokerLoginRefused), ResourceExhausted (backing off, saying how
  // long), InvalidArgument (unknown factor name), Internal (the store or the secrets key;
  // logged, never detailed to the caller).
  absl::StatusOr<IssuedSession> Login(const LoginRequest& request, absl::Time now);

 private:
  absl::Status CheckTerminal(const PeerIdentity& terminal);
  SecondFactor* FindFactor(absl::string_view name) const;
  // The throttle of the user, or of the name when it is no user.
  absl::StatusOr<LoginThrottle> ThrottleOf(const LoginRequest& request,
                                           const absl::StatusOr<UserRecord>& user);
  // Counts a failed factor; returns the throttle as updated.
  absl::StatusOr<LoginThrottle> CountFailure(const LoginRequest& request, bool known,
                                             absl::Time now);
  // Audits the refusal with `cause` and the precise reason; returns `told` to the caller.
  absl::Status Refuse(const LoginRequest& request, absl::Time now, absl::string_view cause,
                      const absl::Status& precise, absl::Status told);

  Store& store_;
  SessionManager& sessions_;
  LoginGuardPolicy policy_;
  std::vector<std::unique_ptr<SecondFactor>> factors_;
};

}  // namespace kura::gateway
