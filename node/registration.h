#pragma once

#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "grpcpp/channel.h"
#include "kura/v1/gateway.grpc.pb.h"
#include "node/workspace_host.h"

namespace kura::node {

// Keeps this node registered with the gateway: NodeRegistry.Register with the address it serves
// on and its capacity, then a Heartbeat every interval the gateway asks for, carrying the
// allocated resources and running workspaces; the workspaces the gateway lists in its answer
// are closed. A failed call is retried after a pause. Runs on a thread of its own, which it owns
// and joins when destroyed. Thread-safe.
class GatewayRegistration final {
 public:
  struct Options {
    std::shared_ptr<grpc::Channel> channel;  // to the gateway, with the node's certificate
    std::string advertise_address;           // host:port the gateway reaches this node at
    v1::Resources capacity;
    std::string version;
  };

  GatewayRegistration(WorkspaceHost* host, Options options);
  ~GatewayRegistration();

 private:
  void Loop();
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
