#pragma once

// Who is calling: the checks every gateway call starts with.
//
// AuthenticatePeer verifies the call's client certificate again at the application layer
// (gRPC's TLS handshake already checked the chain): signed by kura's CA, valid now, serial not
// revoked in the store, and the role the service expects, so a terminal certificate cannot act
// as a node nor the reverse. A terminal must also be registered and not revoked.
//
// AuthenticateSession checks the `authorization: Bearer <token>` metadata of a researcher call:
// a live session whose token hash is in the store, bound to the very terminal certificate
// presenting it, inside its idle timeout and absolute lifetime. Thread-safe.

#include <string>

#include <grpcpp/server_context.h>

#include "absl/status/statusor.h"
#include "gateway/gateway_state.h"
#include "gateway/pki.h"
#include "gateway/records.h"

namespace kura::gateway {

// Unauthenticated with the reason when the certificate is missing, foreign, expired, revoked,
// of another role or (terminals) unregistered. Refusals are audited.
absl::StatusOr<PeerIdentity> AuthenticatePeer(GatewayState& state,
                                              const grpc::ServerContextBase& context,
                                              PeerRole expected_role);

// The `authorization: Bearer` token of the call; empty when there is none.
std::string BearerToken(const grpc::ServerContextBase& context);

// The caller's live session (session.h's SessionManager::Validate), its idle clock restarted.
// Unauthenticated when there is no token, it is unknown, revoked, expired, or presented by
// another terminal than the one that logged in; refusals are audited.
absl::StatusOr<SessionRecord> AuthenticateSession(GatewayState& state,
                                                  const grpc::ServerContextBase& context,
                                                  const PeerIdentity& terminal);

// "user:alice", "terminal:vdi-01", "node:n1": the actor of audit events.
std::string Actor(absl::string_view kind, absl::string_view id);

}  // namespace kura::gateway
