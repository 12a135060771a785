#include "gateway/login.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status.h"

namespace kura::gateway {
namespace {

AuditEntry LoginEvent(const LoginRequest& request, absl::string_view outcome,
                      nlohmann::json details) {
  details["factor"] = request.factor;
  details["terminal_fingerprint"] = request.terminal.fingerprint;
  return AuditEntry{absl::StrCat("user:", request.user), "login",
                    absl::StrCat("terminal:", request.terminal.id), std::string(outcome),
                    details.dump()};
}

}  // namespace

void Authenticator::AddFactor(std::unique_ptr<SecondFactor> factor) {
  factors_.push_back(std::move(factor));
}

absl::Status Authenticator::Refuse(const LoginRequest& request, absl::Time now,
                                   absl::Status status) {
  absl::Status audited =
      store_
          .AppendAuditEvent(
              LoginEvent(request, "denied", {{"reason", std::string(status.message())}}), now)
          .status();
  // The refusal stands either way; a store that cannot audit is an operator's problem.
  if (!audited.ok()) {
    KURA_LOG(Error) << "audit of a refused login failed: " << audited;
  }
  return status;
}

absl::Status Authenticator::CheckTerminal(const PeerIdentity& terminal) {
  if (terminal.role != PeerRole::kTerminal) {
    return absl::UnauthenticatedError("logins come from terminal certificates only");
  }
  absl::StatusOr<TerminalRecord> registered = store_.GetTerminal(terminal.id);
  if (absl::IsNotFound(registered.status())) {
    return absl::UnauthenticatedError(
        absl::StrCat("terminal '", terminal.id, "' is not registered"));
  }
  KURA_RETURN_IF_ERROR(registered.status());
  if (registered->revoked) {
    return absl::UnauthenticatedError(absl::StrCat("terminal '", terminal.id, "' is revoked"));
  }
  if (registered->certificate_serial != terminal.serial) {
    return absl::UnauthenticatedError(absl::StrCat(
        "this certificate is not the one registered for terminal '", terminal.id, "'"));
  }
  if (registered->terminal_class != terminal.terminal_class) {
    return absl::UnauthenticatedError(absl::StrCat(
        "terminal '", terminal.id, "' is registered with another class than its certificate"));
  }
  return absl::OkStatus();
}

absl::Status Authenticator::VerifyFactor(const LoginRequest& request, absl::Time now) {
  for (const auto& factor : factors_) {
    if (factor->Name() != request.factor) continue;
    absl::Status verified = factor->Verify({request.user, request.terminal.id, now}, request.proof);
    if (!absl::IsUnauthenticated(verified)) return verified;
    KURA_ASSIGN_OR_RETURN(UserRecord user,
                          store_.RecordFactorFailure(request.user, now, policy_.lock_after));
    if (user.locked) {
      return absl::UnauthenticatedError(
          absl::StrCat(verified.message(), "; account '", user.name, "' is now locked after ",
                       user.failed_attempts, " failed attempts, an operator must unlock it"));
    }
    return absl::UnauthenticatedError(absl::StrCat(verified.message(), " (",
                                                   policy_.lock_after - user.failed_attempts,
                                                   " attempts left before the account locks)"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown second factor '", request.factor, "' (use totp or vdi-broker)"));
}

absl::StatusOr<IssuedSession> Authenticator::Login(const LoginRequest& request, absl::Time now) {
  absl::Status terminal = CheckTerminal(request.terminal);
  if (!terminal.ok()) return Refuse(request, now, terminal);
  absl::StatusOr<UserRecord> user = store_.GetUser(request.user);
  if (absl::IsNotFound(user.status())) {
    return Refuse(request, now,
                  absl::UnauthenticatedError(absl::StrCat("no user '", request.user, "'")));
  }
  KURA_RETURN_IF_ERROR(user.status());
  absl::Status allowed = CheckLoginAllowed(*user, now, policy_);
  if (!allowed.ok()) return Refuse(request, now, allowed);
  absl::Status factor = VerifyFactor(request, now);
  if (!factor.ok()) return Refuse(request, now, factor);

  KURA_RETURN_IF_ERROR(store_.RecordFactorSuccess(request.user));
  KURA_ASSIGN_OR_RETURN(IssuedSession session,
                        sessions_.Create(request.user, request.terminal, now));
  absl::Status audited =
      store_.AppendAuditEvent(LoginEvent(request, "ok", {{"session", session.record.id}}), now)
          .status();
  if (!audited.ok()) {
    // No unaudited session: take it back.
    (void)store_.RevokeSession(session.record.id);
    return Annotate(audited, "login not recorded in the audit log");
  }
  return session;
}

}  // namespace kura::gateway
