#include "gateway/session.h"

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status.h"

namespace kura::gateway {

absl::Status CheckSession(const SessionRecord& session, absl::string_view terminal_fingerprint,
                          absl::Time now, const SessionPolicy& policy) {
  if (session.revoked) {
    return absl::UnauthenticatedError(
        "this session has ended (logged out or revoked by an operator); log in again");
  }
  if (!ConstantTimeEquals(session.terminal_fingerprint, terminal_fingerprint)) {
    return absl::UnauthenticatedError(
        "this session belongs to another terminal; log in from this one");
  }
  if (now - session.created >= policy.lifetime) {
    return absl::UnauthenticatedError(absl::StrCat("this session reached its ",
                                                   absl::FormatDuration(policy.lifetime),
                                                   " lifetime; log in again"));
  }
  if (now - session.last_used >= policy.idle_timeout) {
    return absl::UnauthenticatedError(absl::StrCat("this session was idle for more than ",
                                                   absl::FormatDuration(policy.idle_timeout),
                                                   "; log in again"));
  }
  return absl::OkStatus();
}

std::string SessionManager::HashToken(absl::string_view token) { return Sha256Hex(token); }

absl::StatusOr<IssuedSession> SessionManager::Create(absl::string_view user,
                                                     const PeerIdentity& terminal, absl::Time now) {
  if (terminal.role != PeerRole::kTerminal) {
    return absl::InvalidArgumentError("sessions are opened from terminals only");
  }
  KURA_ASSIGN_OR_RETURN(std::string bits, RandomBytes(32));
  IssuedSession issued;
  issued.token = Base64UrlEncode(bits);
  SessionRecord& record = issued.record;
  record.token_hash = HashToken(issued.token);
  record.user = std::string(user);
  record.terminal_id = terminal.id;
  record.terminal_fingerprint = terminal.fingerprint;
  record.created = now;
  record.last_used = now;
  KURA_ASSIGN_OR_RETURN(record.id, store_.CreateSession(record));
  return issued;
}

absl::StatusOr<SessionRecord> SessionManager::Validate(absl::string_view token,
                                                       absl::string_view terminal_fingerprint,
                                                       absl::Time now) {
  if (token.empty()) return absl::UnauthenticatedError("no session token; log in first");
  absl::StatusOr<SessionRecord> session = store_.GetSessionByTokenHash(HashToken(token));
  if (absl::IsNotFound(session.status())) {
    return absl::UnauthenticatedError("unknown session token; log in again");
  }
  KURA_RETURN_IF_ERROR(session.status());
  KURA_RETURN_IF_ERROR(CheckSession(*session, terminal_fingerprint, now, policy_));
  KURA_RETURN_IF_ERROR(store_.TouchSession(session->id, now));
  session->last_used = std::max(session->last_used, now);
  return session;
}

absl::Status SessionManager::Logout(absl::string_view token) {
  absl::StatusOr<SessionRecord> session = store_.GetSessionByTokenHash(HashToken(token));
  if (absl::IsNotFound(session.status())) {
    return absl::UnauthenticatedError("unknown session token");
  }
  KURA_RETURN_IF_ERROR(session.status());
  return store_.RevokeSession(session->id);
}

}  // namespace kura::gateway
