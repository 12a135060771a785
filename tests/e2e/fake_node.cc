#include "tests/e2e/fake_node.h"

#include <grpcpp/server_builder.h>

#include <cstdio>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/crypto.h"
#include "gateway/pki.h"

namespace kura::e2e {

FakeNode::FakeNode(const TlsIdentity& identity) {
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", MutualTlsServerCredentials(identity), &port);
  builder.RegisterService(this);
  server_ = builder.BuildAndStart();
  address_ = absl::StrCat("127.0.0.1:", port);
}

FakeNode::~FakeNode() { server_->Shutdown(absl::ToChronoTime(absl::Now())); }

std::vector<kura::v1::NodeOpenWorkspaceRequest> FakeNode::opened() {
  absl::MutexLock lock(&mu_);
  return opened_;
}

std::vector<std::string> FakeNode::closed() {
  absl::MutexLock lock(&mu_);
  return closed_;
}

grpc::Status FakeNode::CheckGateway(const grpc::ServerContext& context) {
  absl::StatusOr<std::string> pem = PeerCertificatePem(*context.auth_context());
  if (!pem.ok()) return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no certificate");
  absl::StatusOr<gateway::PeerIdentity> peer = gateway::ParsePeerIdentity(*pem);
  if (!peer.ok() || peer->role != gateway::PeerRole::kGateway) {
    return grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "only the gateway may call a node");
  }
  return grpc::Status::OK;
}

grpc::Status FakeNode::GetInventory(grpc::ServerContext* context,
                                    const kura::v1::GetInventoryRequest*,
                                    kura::v1::Inventory* response) {
  response->set_node_id("fake");
  return CheckGateway(*context);
}

grpc::Status FakeNode::OpenWorkspace(grpc::ServerContext* context,
                                     const kura::v1::NodeOpenWorkspaceRequest* request,
                                     kura::v1::Workspace* response) {
  if (grpc::Status status = CheckGateway(*context); !status.ok()) return status;
  absl::MutexLock lock(&mu_);
  opened_.push_back(*request);
  response->set_id(request->workspace_id());
  response->set_state("running");
  return grpc::Status::OK;
}

grpc::Status FakeNode::CloseWorkspace(grpc::ServerContext* context,
                                      const kura::v1::NodeCloseWorkspaceRequest* request,
                                      kura::v1::NodeCloseWorkspaceResponse*) {
  if (grpc::Status status = CheckGateway(*context); !status.ok()) return status;
  absl::MutexLock lock(&mu_);
  closed_.push_back(request->workspace_id());
  return grpc::Status::OK;
}

grpc::Status FakeNode::Attach(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<kura::v1::AttachOutput, kura::v1::AttachInput>* stream) {
  if (grpc::Status status = CheckGateway(*context); !status.ok()) return status;
  kura::v1::AttachInput input;
  kura::v1::AttachOutput output;
  std::string typed;
  while (stream->Read(&input)) {
    if (input.input_case() == kura::v1::AttachInput::kStart) {
      output.set_data(absl::StrCat("attached to ", input.start().workspace_id(), " ",
                                   input.start().size().rows(), "x", input.start().size().cols(),
                                   "\r\n"));
    } else if (input.input_case() == kura::v1::AttachInput::kResize) {
      output.set_data(
          absl::StrCat("resized ", input.resize().rows(), "x", input.resize().cols(), "\r\n"));
    } else if (input.input_case() == kura::v1::AttachInput::kSignal) {
      output.set_exit_code(128 + input.signal());
      stream->Write(output);
      return grpc::Status::OK;
    } else {
      typed += input.stdin();
      if (input.stdin().find('\x03') != std::string::npos) {
        output.set_exit_code(130);
        stream->Write(output);
        return grpc::Status::OK;
      }
      output.set_data(input.stdin());
    }
    stream->Write(output);
    if (typed.find("exit\r") != std::string::npos || typed.find("exit\n") != std::string::npos) {
      output.set_exit_code(0);
      stream->Write(output);
      return grpc::Status::OK;
    }
  }
  output.set_exit_code(0);
  stream->Write(output);
  return grpc::Status::OK;
}

grpc::Status FakeNode::RunJob(grpc::ServerContext* context, const kura::v1::JobRequest* request,
                              grpc::ServerWriter<kura::v1::JobOutput>* writer) {
  if (grpc::Status status = CheckGateway(*context); !status.ok()) return status;
  kura::v1::JobOutput output;
  output.set_stdout(absl::StrCat("ran: ", absl::StrJoin(request->argv(), " "), "\n"));
  writer->Write(output);
  output.set_stderr("a line on stderr\n");
  writer->Write(output);
  int code = 0;
  if (request->argv_size() >= 2 && request->argv(0) == "exit") {
    (void)absl::SimpleAtoi(request->argv(1), &code);
  }
  output.set_exit_code(code);
  writer->Write(output);
  return grpc::Status::OK;
}

grpc::Status FakeNode::Upload(grpc::ServerContext* context,
                              grpc::ServerReader<kura::v1::UploadChunk>* reader,
                              kura::v1::UploadResult* response) {
  if (grpc::Status status = CheckGateway(*context); !status.ok()) return status;
  kura::v1::UploadChunk chunk;
  std::string path;
  std::string data;
  while (reader->Read(&chunk)) {
    if (chunk.part_case() == kura::v1::UploadChunk::kStart) path = chunk.start().path();
    if (chunk.part_case() == kura::v1::UploadChunk::kData) data += chunk.data();
  }
  response->set_path(path);
  response->set_size(data.size());
  response->set_sha256(Sha256Hex(data));
  return grpc::Status::OK;
}

grpc::Status FakeNode::ListOutputs(grpc::ServerContext* context,
                                   const kura::v1::NodeListOutputsRequest* request,
                                   kura::v1::NodeListOutputsResponse* response) {
  if (grpc::Status status = CheckGateway(*context); !status.ok()) return status;
  kura::v1::OutputFile* file = response->add_files();
  file->set_path(absl::StrCat(request->workspace_id(), "/table.csv"));
  file->set_size(42);
  file->set_sha256(Sha256Hex("table"));
  return grpc::Status::OK;
}

grpc::Status FakeNode::SnapshotOutputs(grpc::ServerContext* context,
                                       const kura::v1::NodeSnapshotRequest* request,
                                       kura::v1::NodeSnapshotResponse* response) {
  if (grpc::Status status = CheckGateway(*context); !status.ok()) return status;
  std::string report = R"({"policy": {"name": "acro-default"}, "files": [)";
  std::string overall = "pass";
  std::string ids;
  for (int i = 0; i < request->paths_size(); ++i) {
    const std::string& path = request->paths(i);
    if (path == "link.csv") {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "refused link.csv: a symlink (symlinks are never exported)");
    }
    std::string verdict = path == "small.csv" ? "fail" : "pass";
    if (verdict == "fail") overall = "fail";
    absl::StrAppend(&report, i ? ", " : "", R"({"path": ")", path, R"(", "verdict": ")", verdict,
                    R"("})");
    kura::v1::OutputFile* file = response->add_files();
    file->set_path(path);
    std::shared_ptr<const std::string> content = Content(path);
    file->set_size(content->size());
    file->set_sha256(Sha256Hex(*content));
    absl::StrAppend(&ids, path, "\n");
  }
  report += "]}";
  response->set_snapshot_id(Sha256Hex(ids));
  response->set_report_json(report);
  response->set_verdict(overall);
  response->set_policy_name("acro-default");
  response->set_policy_sha256(Sha256Hex("acro-default"));
  response->set_checker_version("0.1.0");
  *response->mutable_image() = Image();
  absl::MutexLock lock(&mu_);
  for (const auto& opened : opened_) {
    if (opened.workspace_id() != request->workspace_id()) continue;
    for (const kura::v1::MountSchema& m : opened.schemas()) {
      kura::v1::SchemaIdentity* id = response->add_schemas();
      id->set_name(m.name());
      id->set_manifest_sha256(m.manifest_sha256());
      id->set_data_class(m.name().find("pseudo") != std::string::npos ? "pseudonymized"
                                                                      : "anonymized");
    }
  }
  return grpc::Status::OK;
}

std::string FakeNode::FileContent(const std::string& path) {
  if (path.rfind("big", 0) != 0) return path;
  size_t size = (5 << 20) + 17;
  if (int mib = 0; std::sscanf(path.c_str(), "big-%dmib.csv", &mib) == 1 && mib > 0) {
    size = static_cast<size_t>(mib) << 20;
  }
  std::string out(size, '\0');
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<char>('a' + (i * 7 + i / 4099) % 26);
  return out;
}

std::shared_ptr<const std::string> FakeNode::Content(const std::string& path) {
  absl::MutexLock lock(&mu_);
  std::shared_ptr<const std::string>& cached = contents_[path];
  if (!cached) cached = std::make_shared<const std::string>(FileContent(path));
  return cached;
}

kura::v1::WorkspaceImage FakeNode::Image() {
  kura::v1::WorkspaceImage image;
  image.set_name("host:Fake Linux 1");
  image.add_components("os-release " + Sha256Hex("Fake Linux 1"));
  image.set_digest("sha256:" + Sha256Hex(image.components(0)));
  return image;
}

grpc::Status FakeNode::ReadSnapshotFile(grpc::ServerContext* context,
                                        const kura::v1::NodeReadSnapshotFileRequest* request,
                                        grpc::ServerWriter<kura::v1::NodeSnapshotFile>* writer) {
  if (grpc::Status status = CheckGateway(*context); !status.ok()) return status;
  std::shared_ptr<const std::string> content = Content(request->path());
  std::string tampered;
  if (tamper_) tampered = *content + " changed";
  absl::string_view data = tamper_ ? absl::string_view(tampered) : absl::string_view(*content);
  constexpr size_t kChunk = 1 << 20;
  size_t offset = 0;
  do {
    kura::v1::NodeSnapshotFile chunk;
    if (offset == 0) chunk.set_size(data.size());
    absl::string_view piece = data.substr(offset, kChunk);
    chunk.set_data(piece.data(), piece.size());
    offset += chunk.data().size();
    if (!writer->Write(chunk)) return grpc::Status(grpc::StatusCode::CANCELLED, "gone");
  } while (offset < data.size());
  return grpc::Status::OK;
}

}  // namespace kura::e2e
