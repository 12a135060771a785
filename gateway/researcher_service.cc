#include "gateway/researcher_service.h"

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/status.h"
#include "gateway/call_identity.h"
#include "gateway/grpc_edge.h"
#include "gateway/broker_assertion.h"
#include "gateway/login.h"
#include "gateway/workspace_access.h"

namespace kura::gateway {
absl::StatusOr<ResearcherService::Caller> ResearcherService::Authenticate(
    const grpc::ServerContextBase& context) {
  Caller caller;
  KURA_ASSIGN_OR_RETURN(caller.terminal, AuthenticatePeer(state_, context, PeerRole::kTerminal));
  KURA_ASSIGN_OR_RETURN(caller.session, AuthenticateSession(state_, context, caller.terminal));
  caller.actor = Actor("user", caller.session.user);
  return caller;
}

absl::Status ResearcherService::Refuse(const Caller& caller, absl::string_view action,
                                       absl::string_view subject, absl::Status status) {
  state_.Audit({caller.actor, std::string(action), std::string(subject), "denied",
                JsonObject({{"reason", std::string(status.message())},
                            {"terminal", caller.terminal.id}})});
  return status;
}

grpc::Status ResearcherService::Login(grpc::ServerContext* context,
                                      const kura::v1::LoginRequest* request,
                                      kura::v1::LoginResponse* response) {
  return ToGrpcStatus("Login", DoLogin(*context, *request, *response));
}

absl::Status ResearcherService::DoLogin(const grpc::ServerContext& context,
                                        const kura::v1::LoginRequest& request,
                                        kura::v1::LoginResponse& response) {
  KURA_ASSIGN_OR_RETURN(PeerIdentity terminal,
                        AuthenticatePeer(state_, context, PeerRole::kTerminal));
  LoginRequest login;
  login.user = request.user();
  login.terminal = terminal;
  switch (request.factor_case()) {
    case kura::v1::LoginRequest::kTotpCode:
      login.factor = "totp";
      login.proof = request.totp_code();
      break;
    case kura::v1::LoginRequest::kBrokerAssertion: {
      const kura::v1::BrokerAssertion& wire = request.broker_assertion();
      BrokerAssertion assertion;
      assertion.user = wire.user();
      assertion.terminal_id = wire.terminal_id();
      assertion.time_unix_seconds = wire.issued_unix();
      assertion.nonce = wire.nonce();
      assertion.signature = wire.signature();
      login.factor = "vdi-broker";
      login.proof = EncodeBrokerAssertion(assertion);
      break;
    }
    default:
      return absl::InvalidArgumentError(
          "a second factor (TOTP code or VDI broker assertion) is required");
  }
  KURA_ASSIGN_OR_RETURN(IssuedSession session,
                        state_.authenticator().Login(login, state_.Now()));
  KURA_ASSIGN_OR_RETURN(UserRecord user, state_.store().GetUser(request.user()));
  response.set_token(session.token);
  response.set_idle_timeout_seconds(absl::ToInt64Seconds(state_.options().session_idle_timeout));
  response.set_expires_unix(
      absl::ToUnixSeconds(session.record.created + state_.options().session_lifetime));
  for (Role role : user.roles) response.add_roles(std::string(RoleName(role)));
  return absl::OkStatus();
}

grpc::Status ResearcherService::Logout(grpc::ServerContext* context,
                                       const kura::v1::LogoutRequest*,
                                       kura::v1::LogoutResponse*) {
  absl::StatusOr<Caller> caller = Authenticate(*context);
  if (!caller.ok()) return ToGrpcStatus("Logout", caller.status());
  absl::Status revoked = state_.sessions().Logout(BearerToken(*context));
  if (revoked.ok()) {
    state_.Audit({caller->actor, "logout", absl::StrCat("session:", caller->session.id), "ok",
                  JsonObject({{"terminal", caller->terminal.id}})});
  }
  return ToGrpcStatus("Logout", revoked);
}

grpc::Status ResearcherService::ListProjects(grpc::ServerContext* context,
                                             const kura::v1::ListProjectsRequest*,
                                             kura::v1::ListProjectsResponse* response) {
  absl::Status status = [&]() -> absl::Status {
    KURA_ASSIGN_OR_RETURN(Caller caller, Authenticate(*context));
    KURA_ASSIGN_OR_RETURN(std::vector<std::string> names,
                          state_.store().ListProjectsOfUser(caller.session.user));
    for (const std::string& name : names) {
      KURA_ASSIGN_OR_RETURN(ProjectRecord project, state_.store().GetProject(name));
      KURA_ASSIGN_OR_RETURN(std::vector<SchemaRecord> schemas,
                            SchemasGrantedNow(state_.store(), name, state_.Now()));
      kura::v1::Project* out = response->add_projects();
      out->set_name(project.name);
      out->set_description(project.description);
      out->set_role("member");
      for (const SchemaRecord& schema : schemas) {
        kura::v1::SchemaRef* ref = out->add_schemas();
        ref->set_name(schema.name);
        ref->set_data_class(std::string(DataClassName(schema.data_class)));
        ref->set_manifest_sha256(schema.manifest_sha256);
      }
    }
    return absl::OkStatus();
  }();
  return ToGrpcStatus("ListProjects", status);
}

kura::v1::Workspace WorkspaceToProto(const WorkspaceRecord& workspace,
                                     const std::vector<SchemaRecord>& schemas) {
  kura::v1::Workspace proto;
  proto.set_id(workspace.id);
  proto.set_project(workspace.project);
  proto.set_user(workspace.user);
  proto.set_node(workspace.node);
  proto.set_state(std::string(WorkspaceStateName(workspace.state)));
  *proto.mutable_resources() = ToProto(workspace.resources);
  for (const SchemaRecord& schema : schemas) {
    kura::v1::SchemaRef* ref = proto.add_schemas();
    ref->set_name(schema.name);
    ref->set_data_class(std::string(DataClassName(schema.data_class)));
    ref->set_manifest_sha256(schema.manifest_sha256);
  }
  proto.set_created_unix(absl::ToUnixSeconds(workspace.created));
  proto.set_last_active_unix(absl::ToUnixSeconds(workspace.updated));
  return proto;
}

}  // namespace kura::gateway
