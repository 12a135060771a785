#pragma once

// Login: a verified terminal certificate + a user name + one second factor gives a session.
//
// Authenticator runs the steps in order: the terminal is registered and not revoked and its
// certificate is the registered one; the user exists; the account is not locked or backing
// off (login_guard.h); the named factor accepts the proof. A failed factor is counted and may
// lock the account. Every outcome is an audit event (action "login"). Thread-safe once its
// factors are added.

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

class Authenticator final {
 public:
  Authenticator(Store& store, SessionManager& sessions, LoginGuardPolicy policy = {})
      : store_(store), sessions_(sessions), policy_(policy) {}

  // Not thread-safe: add every factor before the first Login.
  void AddFactor(std::unique_ptr<SecondFactor> factor);

  // Unauthenticated (terminal, user or factor refused), PermissionDenied (account locked),
  // ResourceExhausted (backing off), InvalidArgument (unknown factor name).
  absl::StatusOr<IssuedSession> Login(const LoginRequest& request, absl::Time now);

 private:
  absl::Status CheckTerminal(const PeerIdentity& terminal);
  absl::Status VerifyFactor(const LoginRequest& request, absl::Time now);
  absl::Status Refuse(const LoginRequest& request, absl::Time now, absl::Status status);

  Store& store_;
  SessionManager& sessions_;
  LoginGuardPolicy policy_;
  std::vector<std::unique_ptr<SecondFactor>> factors_;
};

}  // namespace kura::gateway
