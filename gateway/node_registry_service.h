#pragma once

// kura.v1.NodeRegistry: analysis nodes register (their id is the one in their node
// certificate; a terminal certificate is refused) and heartbeat. A heartbeat's answer names the
// workspaces the node must close: ones the gateway closed or never opened there, and ones
// whose grant (data permit) has ended since they were opened. That is how an expired grant
// ends access: the workspace is closed as a whole, not left running without its mount.
// Synchronous gRPC service. Thread-safe.

#include "gateway/gateway_state.h"
#include "kura/v1/gateway.grpc.pb.h"

namespace kura::gateway {

class NodeRegistryService final : public kura::v1::NodeRegistry::Service {
 public:
  explicit NodeRegistryService(GatewayState& state) : state_(state) {}

  grpc::Status Register(grpc::ServerContext* context,
                        const kura::v1::RegisterNodeRequest* request,
                        kura::v1::RegisterNodeResponse* response) override;
  grpc::Status Heartbeat(grpc::ServerContext* context, const kura::v1::HeartbeatRequest* request,
                         kura::v1::HeartbeatResponse* response) override;

 private:
  absl::Status DoHeartbeat(const grpc::ServerContext& context,
                           const kura::v1::HeartbeatRequest& request,
                           kura::v1::HeartbeatResponse& response);

  GatewayState& state_;
};

}  // namespace kura::gateway
