#pragma once

// kura-gateway as a library: the mutual-TLS gRPC server carrying the Researcher, Operator and
// NodeRegistry services over one GatewayState. Used by gateway_main.cc and by tests.
// Start, then Wait (until Shutdown from another thread). Thread-safe.

#include <memory>
#include <string>

#include <grpcpp/server.h>

#include "absl/status/statusor.h"
#include "gateway/gateway_state.h"
#include "gateway/node_registry_service.h"
#include "gateway/operator_service.h"
#include "gateway/researcher_service.h"

namespace kura::gateway {

class GatewayServer final {
 public:
  // Opens the state directory and starts serving on options.listen_address (port 0 picks a
  // free port; see address()). RequireTls13() must have been called.
  static absl::StatusOr<std::unique_ptr<GatewayServer>> Start(GatewayOptions options);

  ~GatewayServer();

  // host:port actually bound.
  const std::string& address() const { return address_; }
  GatewayState& state() { return *state_; }

  void Wait();
  // Stops accepting calls; running calls get `grace` to finish, then are cancelled.
  void Shutdown(absl::Duration grace);

 private:
  GatewayServer() = default;

  std::unique_ptr<GatewayState> state_;
  std::unique_ptr<ResearcherService> researcher_;
  std::unique_ptr<NodeRegistryService> registry_;
  std::unique_ptr<OperatorService> operator_;
  std::unique_ptr<grpc::Server> server_;
  std::string address_;
};

}  // namespace kura::gateway
