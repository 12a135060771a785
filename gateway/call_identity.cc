#include "gateway/call_identity.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/tls.h"

namespace kura::gateway {
namespace {

constexpr absl::string_view kBearerPrefix = "Bearer ";

void AuditPeerRefusal(GatewayState& state, absl::string_view pem, PeerRole expected,
                      const absl::Status& why) {
  absl::StatusOr<PeerIdentity> claimed = ParsePeerIdentity(pem);
  std::string actor = claimed.ok() ? Actor(PeerRoleName(claimed->role), claimed->id)
                                   : std::string("peer:unidentified");
  state.Audit({actor, "peer.refused", absl::StrCat("service:", PeerRoleName(expected)), "denied",
               JsonObject({{"reason", std::string(why.message())}})});
}

}  // namespace

std::string Actor(absl::string_view kind, absl::string_view id) {
  return absl::StrCat(kind, ":", id);
}

absl::StatusOr<PeerIdentity> AuthenticatePeer(GatewayState& state,
                                              const grpc::ServerContextBase& context,
                                              PeerRole expected_role) {
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr) return absl::UnauthenticatedError("no client certificate");
  absl::StatusOr<std::string> pem = PeerCertificatePem(*auth);
  if (!pem.ok()) return absl::UnauthenticatedError("no client certificate");
  KURA_ASSIGN_OR_RETURN(std::vector<std::string> revoked_list, state.store().ListRevokedSerials());
  absl::flat_hash_set<std::string> revoked(revoked_list.begin(), revoked_list.end());
  absl::StatusOr<PeerIdentity> peer =
      VerifyPeerCertificate(*pem, state.ca_pem(), revoked, state.Now(), expected_role);
  if (!peer.ok()) {
    AuditPeerRefusal(state, *pem, expected_role, peer.status());
    return absl::UnauthenticatedError(
        absl::StrCat("client certificate refused: ", peer.status().message()));
  }
  if (expected_role != PeerRole::kTerminal) return peer;

  absl::StatusOr<TerminalRecord> terminal = state.store().GetTerminal(peer->id);
  absl::Status refusal;
  if (absl::IsNotFound(terminal.status())) {
    refusal = absl::UnauthenticatedError(
        absl::StrCat("terminal '", peer->id, "' is not registered with this gateway"));
  } else if (!terminal.ok()) {
    return terminal.status();
  } else if (terminal->revoked) {
    refusal = absl::UnauthenticatedError(absl::StrCat("terminal '", peer->id, "' is revoked"));
  } else if (!terminal->certificate_serial.empty() &&
             terminal->certificate_serial != peer->serial) {
    refusal = absl::UnauthenticatedError(absl::StrCat(
        "this certificate of terminal '", peer->id, "' has been replaced by a newer one"));
  }
  if (!refusal.ok()) {
    AuditPeerRefusal(state, *pem, expected_role, refusal);
    return refusal;
  }
  // The registered class is authoritative when it is the stricter one.
  if (terminal->terminal_class == TerminalClass::kStandard) {
    peer->terminal_class = TerminalClass::kStandard;
  }
  return peer;
}

std::string BearerToken(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find("authorization");
  if (it == metadata.end()) return "";
  absl::string_view value(it->second.data(), it->second.size());
  if (!absl::StartsWith(value, kBearerPrefix)) return "";
  return std::string(value.substr(kBearerPrefix.size()));
}

absl::StatusOr<SessionRecord> AuthenticateSession(GatewayState& state,
                                                  const grpc::ServerContextBase& context,
                                                  const PeerIdentity& terminal) {
  const std::string token = BearerToken(context);
  if (token.empty()) return absl::UnauthenticatedError("not logged in");
  absl::StatusOr<SessionRecord> session =
      state.sessions().Validate(token, terminal.fingerprint, state.Now());
  if (!session.ok()) {
    state.Audit({Actor("terminal", terminal.id), "session.refused", "session", "denied",
                 JsonObject({{"reason", std::string(session.status().message())}})});
  }
  return session;
}

}  // namespace kura::gateway
