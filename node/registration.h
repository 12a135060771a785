#pragma once

#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "grpcpp/channel.h"
#include "kura/v1/gateway.grpc.pb.h"
#include "node/revocation.h"
#include "node/workspace_host.h"

namespace kura::node {

// Keeps this node registered with the gateway: NodeRegistry.Register with the address it serves
// on and its capacity, then a Heartbeat every interval the gateway asks for, carrying the
// allocated resources and running workspaces; the workspaces the gateway lists in its answer
// are closed. A failed call is retried after a pause. Given a revocation list, the gateway's
// server certificate is checked against it after each call and an answer from a revoked one
// is dropped as a failed call (gRPC shows the certificate only once the call has been made,
// so what was sent, the address, capacity and workspace ids, has reached it). Runs on a thread
// of its own, which it owns and joins when destroyed. Thread-safe.
class GatewayRegistration final {
 public:
  struct Options {
    std::shared_ptr<grpc::Channel> channel;  // to the gateway, with the node's certificate
    std::string advertise_address;           // host:port the gateway reaches this node at
    v1::Resources capacity;
    std::string version;
    // The CA's revocation list (`--crl`); null: the gateway's certificate is not checked.
    std::shared_ptr<CertificateRevocation> revocation;
  };

  GatewayRegistration(WorkspaceHost* host, Options options);
  ~GatewayRegistration();

 private:
  void Loop();
  // OK when the call made with `context` reached a gateway whose certificate is not revoked;
  // Unauthenticated otherwise (and when no server certificate is known).
  absl::Status CheckGateway(const grpc::ClientContext& context);
  // Waits `seconds` or until stopping; false when stopping.
  bool Pause(int seconds);

  WorkspaceHost* host_;
  const Options options_;
  std::unique_ptr<v1::NodeRegistry::Stub> stub_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace kura::node
