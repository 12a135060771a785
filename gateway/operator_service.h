#pragma once

// kura.v1.Operator: what an operator does online through the gateway (the same checks as a
// researcher's call: terminal certificate, live session; then the operator role). Nodes as the
// gateway sees them (capacity, what is allocated, health), cordoning, and draining (cordon,
// then close every workspace on the node). Every action is audited.
// Synchronous gRPC service. Thread-safe.

#include "gateway/gateway_state.h"
#include "kura/v1/gateway.grpc.pb.h"

namespace kura::gateway {

class OperatorService final : public kura::v1::Operator::Service {
 public:
  explicit OperatorService(GatewayState& state) : state_(state) {}

  grpc::Status ListNodes(grpc::ServerContext* context, const kura::v1::ListNodesRequest* request,
                         kura::v1::ListNodesResponse* response) override;
  grpc::Status CordonNode(grpc::ServerContext* context,
                          const kura::v1::CordonNodeRequest* request,
                          kura::v1::CordonNodeResponse* response) override;
  grpc::Status DrainNode(grpc::ServerContext* context, const kura::v1::DrainNodeRequest* request,
                         kura::v1::DrainNodeResponse* response) override;

 private:
  // The operator's actor name ("operator:<user>"); PermissionDenied for anyone without the
  // operator role (audited).
  absl::StatusOr<std::string> AuthenticateOperator(const grpc::ServerContext& context,
                                                   absl::string_view action);

  GatewayState& state_;
};

}  // namespace kura::gateway
