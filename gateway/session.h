#pragma once

// Session tokens: 256 random bits given to the client as base64url (43 characters), kept in
// the store only as their SHA-256, bound to the fingerprint of the terminal certificate that
// logged in, with an idle timeout and an absolute lifetime. Logout and operators revoke them.
// Thread-safe (state is in the store).

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gateway/pki.h"
#include "gateway/store.h"

namespace kura::gateway {

struct SessionPolicy {
  absl::Duration idle_timeout = absl::Minutes(15);
  absl::Duration lifetime = absl::Hours(12);
};

// A session just created: the token is shown to the client once and never stored.
struct IssuedSession {
  std::string token;
  SessionRecord record;
};

// Pure: Unauthenticated, saying why, when `session` may not be used at `now` by the terminal
// whose certificate has `terminal_fingerprint`.
absl::Status CheckSession(const SessionRecord& session, absl::string_view terminal_fingerprint,
                          absl::Time now, const SessionPolicy& policy);

class SessionManager final {
 public:
  SessionManager(Store& store, SessionPolicy policy) : store_(store), policy_(policy) {}

  // Lowercase hex SHA-256 of a token: what the store keeps.
  static std::string HashToken(absl::string_view token);

  // Creates a session for `user` at the terminal `terminal` (a verified terminal identity).
  absl::StatusOr<IssuedSession> Create(absl::string_view user, const PeerIdentity& terminal,
                                       absl::Time now);
  // The live session of `token` presented by the terminal with `terminal_fingerprint`; its
  // idle clock restarts. Unauthenticated when missing, unknown, revoked, idle too long, past
  // its lifetime or presented from another terminal.
  absl::StatusOr<SessionRecord> Validate(absl::string_view token,
                                         absl::string_view terminal_fingerprint, absl::Time now);
  // Revokes the session of `token` (logout). Unauthenticated when the token is unknown.
  absl::Status Logout(absl::string_view token);

  const SessionPolicy& policy() const { return policy_; }

 private:
  Store& store_;
  SessionPolicy policy_;
};

}  // namespace kura::gateway
