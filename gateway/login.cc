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

// The one message for every refusal of the user or the factor.
absl::Status Refused(const LoginRequest& request) {
  return absl::UnauthenticatedError(request.factor == "vdi-broker" ? kBrokerLoginRefused
                                                                   : kTotpLoginRefused);
}

}  // namespace

void Authenticator::AddFactor(std::unique_ptr<SecondFactor> factor) {
  factors_.push_back(std::move(factor));
}

absl::Status Authenticator::Refuse(const LoginRequest& request, absl::Time now,
                                   absl::string_view cause, const absl::Status& precise,
                                   absl::Status told) {
  if (absl::IsInternal(told)) {
    KURA_LOG(Error) << "login of '" << request.user << "': " << precise;
  }
  absl::Status audited =
      store_
          .AppendAuditEvent(LoginEvent(request, "denied",
                                       {{"cause", std::string(cause)},
                                        {"reason", std::string(precise.message())}}),
                            now)
          .status();
  // The refusal stands either way; a store that cannot audit is an operator's problem.
  if (!audited.ok()) {
    KURA_LOG(Error) << "audit of a refused login failed: " << audited;
  }
  return told;
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

SecondFactor* Authenticator::FindFactor(absl::string_view name) const {
  for (const auto& factor : factors_) {
    if (factor->Name() == name) return factor.get();
  }
  return nullptr;
}

absl::StatusOr<LoginThrottle> Authenticator::ThrottleOf(const LoginRequest& request,
                                                        const absl::StatusOr<UserRecord>& user) {
  if (user.ok()) return user->throttle();
  if (!absl::IsNotFound(user.status())) return user.status();
  return store_.GetUnknownNameThrottle(request.user);
}

absl::StatusOr<LoginThrottle> Authenticator::CountFailure(const LoginRequest& request, bool known,
                                                          absl::Time now) {
  // One write either way, so the time taken does not tell a user from a name that is none.
  if (!known) {
    return store_.RecordUnknownNameFailure(request.user, now, policy_.lock_after,
                                           policy_.unknown_names_kept);
  }
  KURA_ASSIGN_OR_RETURN(UserRecord user,
                        store_.RecordFactorFailure(request.user, now, policy_.lock_after));
  return user.throttle();
}

absl::StatusOr<IssuedSession> Authenticator::Login(const LoginRequest& request, absl::Time now) {
  absl::Status terminal = CheckTerminal(request.terminal);
  if (!terminal.ok()) {
    return Refuse(request, now, absl::IsUnauthenticated(terminal) ? "terminal" : "internal",
                  terminal, terminal);
  }
  SecondFactor* factor = FindFactor(request.factor);
  if (factor == nullptr) {
    absl::Status unknown = absl::InvalidArgumentError(
        absl::StrCat("unknown second factor '", request.factor, "' (use totp or vdi-broker)"));
    return Refuse(request, now, "factor", unknown, unknown);
  }
  absl::StatusOr<UserRecord> user = store_.GetUser(request.user);
  const bool known = user.ok();
  absl::StatusOr<LoginThrottle> throttle = ThrottleOf(request, user);
  if (!throttle.ok()) return Refuse(request, now, "internal", throttle.status(), throttle.status());
  // The guard's messages name neither the user nor the count; only the audit adds who.
  absl::Status allowed = CheckLoginAllowed(*throttle, now, policy_);
  absl::Status precise_allowed =
      known ? allowed : Annotate(allowed, absl::StrCat("no user '", request.user, "'"));
  if (absl::IsResourceExhausted(allowed)) {
    // Told as it is: names that are no user back off alike, so the wait tells nothing.
    return Refuse(request, now, "backing_off", precise_allowed, allowed);
  }
  if (!allowed.ok()) {
    // "Locked" is not told: anyone can lock a name by failing five times, and a name that is
    // no user locks too, so saying it would tell nothing true and invite probing.
    return Refuse(request, now, "locked", precise_allowed, Refused(request));
  }

  absl::Status verified = factor->Verify({request.user, request.terminal.id, now}, request.proof);
  const bool refused = absl::IsUnauthenticated(verified) || absl::IsAlreadyExists(verified);
  if (!verified.ok() && !refused) return Refuse(request, now, "internal", verified, verified);
  if (!known || refused) {
    // A broker may vouch for a name that is no user: refused like any other unknown name.
    std::string precise =
        known ? std::string(verified.message()) : absl::StrCat("no user '", request.user, "'");
    absl::StatusOr<LoginThrottle> counted = CountFailure(request, known, now);
    if (!counted.ok()) return Refuse(request, now, "internal", counted.status(), counted.status());
    if (counted->locked) {
      absl::StrAppend(&precise, "; now locked after ", counted->failed_attempts,
                      " failed attempts");
    }
    absl::string_view cause = !known                            ? "unknown_user"
                              : absl::IsAlreadyExists(verified) ? "replayed"
                                                                : "wrong_factor";
    return Refuse(request, now, cause, absl::UnauthenticatedError(precise), Refused(request));
  }

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
