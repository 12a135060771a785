#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "kura/v1/node.grpc.pb.h"
#include "node/revocation.h"
#include "node/workspace_host.h"

namespace kura::node {

// The NodeAgent gRPC service (gRPC's synchronous API: each call runs on a thread of gRPC's
// pool, and none of them forks). Every call first verifies that the peer's client certificate
// is kura's gateway's (a node's or a terminal's is refused with UNAUTHENTICATED) and, given a
// revocation list, that its serial is not revoked (node/revocation.h); the gateway
// has authorised the person, so the node enforces what the request says. Internal failures are
// logged and answered with a generic message. Thread-safe.
class NodeAgentService final : public v1::NodeAgent::Service {
 public:
  struct Options {
    std::string ca_pem;  // kura's CA, the only issuer of gateway certificates accepted
    uint64_t upload_limit_bytes = 16ull << 20;
    v1::Resources capacity;
    v1::WorkspaceImage image;  // what every workspace here runs in (node/image.h)
    // The CA's revocation list (`--crl`); null: revocation is not checked.
    std::shared_ptr<CertificateRevocation> revocation;
  };

  NodeAgentService(WorkspaceHost* host, Options options)
      : host_(host), options_(std::move(options)) {}

  grpc::Status GetInventory(grpc::ServerContext* context, const v1::GetInventoryRequest* request,
                            v1::Inventory* response) override;
  grpc::Status OpenWorkspace(grpc::ServerContext* context,
                             const v1::NodeOpenWorkspaceRequest* request,
                             v1::Workspace* response) override;
  grpc::Status CloseWorkspace(grpc::ServerContext* context,
                              const v1::NodeCloseWorkspaceRequest* request,
                              v1::NodeCloseWorkspaceResponse* response) override;
  grpc::Status Attach(grpc::ServerContext* context,
                      grpc::ServerReaderWriter<v1::AttachOutput, v1::AttachInput>* stream) override;
  grpc::Status RunJob(grpc::ServerContext* context, const v1::JobRequest* request,
                      grpc::ServerWriter<v1::JobOutput>* writer) override;
  grpc::Status Upload(grpc::ServerContext* context, grpc::ServerReader<v1::UploadChunk>* reader,
                      v1::UploadResult* response) override;
  grpc::Status ListOutputs(grpc::ServerContext* context, const v1::NodeListOutputsRequest* request,
                           v1::NodeListOutputsResponse* response) override;
  grpc::Status SnapshotOutputs(grpc::ServerContext* context, const v1::NodeSnapshotRequest* request,
                               v1::NodeSnapshotResponse* response) override;
  grpc::Status ReadSnapshotFile(grpc::ServerContext* context,
                                const v1::NodeReadSnapshotFileRequest* request,
                                grpc::ServerWriter<v1::NodeSnapshotFile>* writer) override;

 private:
  grpc::Status Authorize(grpc::ServerContext* context);

  WorkspaceHost* host_;
  const Options options_;
};

// The machine's capacity: online CPUs and physical memory.
v1::Resources MachineCapacity();

}  // namespace kura::node
