#include "node/registration.h"

#include <chrono>

#include "absl/time/time.h"
#include "common/logging.h"
#include "common/tls.h"
#include "gateway/pki.h"
#include "grpcpp/client_context.h"

namespace kura::node {

GatewayRegistration::GatewayRegistration(WorkspaceHost* host, Options options)
    : host_(host),
      options_(std::move(options)),
      stub_(v1::NodeRegistry::NewStub(options_.channel)),
      thread_([this] { Loop(); }) {}

GatewayRegistration::~GatewayRegistration() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

bool GatewayRegistration::Pause(int seconds) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stopping_), absl::Seconds(seconds));
  return !stopping_;
}

absl::Status GatewayRegistration::CheckGateway(const grpc::ClientContext& context) {
  if (options_.revocation == nullptr) return absl::OkStatus();
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth == nullptr) return absl::UnauthenticatedError("no TLS peer for the gateway");
  absl::StatusOr<std::string> pem = PeerCertificatePem(*auth);
  if (!pem.ok()) return pem.status();
  absl::StatusOr<gateway::PeerIdentity> peer = gateway::ParsePeerIdentity(*pem);
  if (!peer.ok()) return absl::UnauthenticatedError(peer.status().message());
  return options_.revocation->Check(peer->serial, "gateway");
}

void GatewayRegistration::Loop() {
  int retry = 1;
  while (true) {
    v1::RegisterNodeRequest request;
    request.set_address(options_.advertise_address);
    *request.mutable_capacity() = options_.capacity;
    request.set_version(options_.version);
    v1::RegisterNodeResponse registered;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    grpc::Status status = stub_->Register(&context, request, &registered);
    if (absl::Status revoked = status.ok() ? CheckGateway(context) : absl::OkStatus();
        !revoked.ok()) {
      status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED, std::string(revoked.message()));
    }
    if (!status.ok()) {
      KURA_LOG(Warning) << "registration with the gateway failed: " << status.error_message();
      if (!Pause(retry)) return;
      retry = std::min(retry * 2, 30);
      continue;
    }
    retry = 1;
    int interval = registered.heartbeat_interval_seconds() > 0
                       ? static_cast<int>(registered.heartbeat_interval_seconds())
                       : 10;
    KURA_LOG(Info) << "registered with the gateway as " << options_.advertise_address;
    while (Pause(interval)) {
      v1::HeartbeatRequest beat;
      std::vector<v1::Workspace> running = host_->List();
      v1::Resources* allocated = beat.mutable_allocated();
      for (const v1::Workspace& ws : running) {
        beat.add_workspace_ids(ws.id());
        allocated->set_cpus(allocated->cpus() + ws.resources().cpus());
        allocated->set_memory_bytes(allocated->memory_bytes() + ws.resources().memory_bytes());
      }
      v1::HeartbeatResponse answer;
      grpc::ClientContext beat_context;
      beat_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
      grpc::Status beat_status = stub_->Heartbeat(&beat_context, beat, &answer);
      if (absl::Status revoked = beat_status.ok() ? CheckGateway(beat_context) : absl::OkStatus();
          !revoked.ok()) {
        // Never act on (close workspaces for) an answer from a revoked certificate.
        beat_status =
            grpc::Status(grpc::StatusCode::UNAUTHENTICATED, std::string(revoked.message()));
      }
      if (!beat_status.ok()) {
        KURA_LOG(Warning) << "heartbeat failed: " << beat_status.error_message();
        break;  // register again
      }
      for (const std::string& id : answer.close_workspace_ids()) {
        absl::Status closed = host_->Close(id, "closed by the gateway");
        if (!closed.ok() && !absl::IsNotFound(closed)) {
          KURA_LOG(Warning) << "closing workspace " << id << ": " << closed;
        }
      }
    }
    if (!Pause(0)) return;
  }
}

}  // namespace kura::node
