#pragma once

// A stand-in analysis node for gateway tests that must not depend on the real node agent:
// a NodeAgent gRPC server over real mutual TLS with a node certificate, refusing any client
// that is not the gateway, recording what the gateway asked for. RunJob echoes its argv and
// exits with the number in argv[1] when argv[0] is "exit"; Attach echoes input and ends with
// 130 on a signal or 0 on "exit\r"; Upload returns the data's SHA-256. Thread-safe.

#include <grpcpp/server.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/tls.h"
#include "kura/v1/node.grpc.pb.h"

namespace kura::e2e {

class FakeNode final : public kura::v1::NodeAgent::Service {
 public:
  // Serves on 127.0.0.1:<free port> with `identity` (a node certificate).
  explicit FakeNode(const TlsIdentity& identity);
  ~FakeNode() override;

  std::string address() const { return address_; }
  // Requests the gateway sent to OpenWorkspace, by workspace id.
  std::vector<kura::v1::NodeOpenWorkspaceRequest> opened();
  std::vector<std::string> closed();

  grpc::Status GetInventory(grpc::ServerContext* context, const kura::v1::GetInventoryRequest*,
                            kura::v1::Inventory* response) override;
  grpc::Status OpenWorkspace(grpc::ServerContext* context,
                             const kura::v1::NodeOpenWorkspaceRequest* request,
                             kura::v1::Workspace* response) override;
  grpc::Status CloseWorkspace(grpc::ServerContext* context,
                              const kura::v1::NodeCloseWorkspaceRequest* request,
                              kura::v1::NodeCloseWorkspaceResponse*) override;
  grpc::Status Attach(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<kura::v1::AttachOutput, kura::v1::AttachInput>* stream) override;
  grpc::Status RunJob(grpc::ServerContext* context, const kura::v1::JobRequest* request,
                      grpc::ServerWriter<kura::v1::JobOutput>* writer) override;
  grpc::Status Upload(grpc::ServerContext* context,
                      grpc::ServerReader<kura::v1::UploadChunk>* reader,
                      kura::v1::UploadResult* response) override;
  grpc::Status ListOutputs(grpc::ServerContext* context,
                           const kura::v1::NodeListOutputsRequest* request,
                           kura::v1::NodeListOutputsResponse* response) override;
  // A canned snapshot: "link.csv" is refused as a symlink; "small.csv" fails the check and
  // every other file passes; a schema whose name holds "pseudo" is pseudonymized.
  grpc::Status SnapshotOutputs(grpc::ServerContext* context,
                               const kura::v1::NodeSnapshotRequest* request,
                               kura::v1::NodeSnapshotResponse* response) override;
  // The bytes of a snapshot file (FileContent of its path, as the canned snapshot hashed it),
  // in 1 MiB chunks; with TamperSnapshots(), other bytes.
  grpc::Status ReadSnapshotFile(grpc::ServerContext* context,
                                const kura::v1::NodeReadSnapshotFileRequest* request,
                                grpc::ServerWriter<kura::v1::NodeSnapshotFile>* writer) override;
  // What the fake node holds as file `path` of /outputs: the path itself, except that a path
  // starting with "big" holds 5 MiB + 17 bytes of varied content (above gRPC's default message
  // size), so releases and reviews of large files are exercised, and "big-<N>mib.csv" holds N
  // MiB of it (for benchmarks).
  static std::string FileContent(const std::string& path);
  // The workspace image every canned snapshot reports.
  static kura::v1::WorkspaceImage Image();
  void TamperSnapshots() { tamper_ = true; }

 private:
  // PERMISSION_DENIED unless the caller presents the gateway's certificate.
  grpc::Status CheckGateway(const grpc::ServerContext& context);

  std::unique_ptr<grpc::Server> server_;
  std::string address_;
  // FileContent(path), made once per path.
  std::shared_ptr<const std::string> Content(const std::string& path);

  std::atomic<bool> tamper_{false};
  absl::flat_hash_map<std::string, std::shared_ptr<const std::string>> contents_
      ABSL_GUARDED_BY(mu_);
  absl::Mutex mu_;
  std::vector<kura::v1::NodeOpenWorkspaceRequest> opened_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> closed_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kura::e2e
