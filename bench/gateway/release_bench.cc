// The cost of kura's release path for a large file: an approved export request downloaded
// through kura-gateway (which streams the file from the node into its spool, checks its size
// and SHA-256 against the request's record, then streams it on) against the same bytes
// streamed straight from the node, with no gateway in between. Prints both and the ratio.
// Uses the end-to-end stack (a real kura-gateway process, a stand-in node serving N MiB).
//
//   release_bench [MIB] [ROUNDS]      defaults: 200 MiB, best of 5

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/time/clock.h"
#include "grpcpp/create_channel.h"
#include "tests/e2e/fake_node.h"
#include "tests/e2e/stack.h"

namespace kura::e2e {
namespace {

[[noreturn]] void Die(const std::string& what, const grpc::Status& status) {
  std::fprintf(stderr, "release_bench: %s: %s\n", what.c_str(), status.error_message().c_str());
  std::exit(1);
}

void Require(const std::string& what, const grpc::Status& status) {
  if (!status.ok()) Die(what, status);
}

// Seconds to receive the whole release of `id`; the bytes received in `*bytes`.
double DownloadOnce(Stack& stack, const TlsIdentity& terminal, const std::string& token, int64_t id,
                    size_t* bytes) {
  kura::v1::DownloadReleaseRequest request;
  request.set_id(id);
  auto context = CallContext(token);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(10));
  const absl::Time start = absl::Now();
  auto reader = stack.Researcher(terminal)->DownloadRelease(context.get(), request);
  kura::v1::ReleaseChunk chunk;
  *bytes = 0;
  while (reader->Read(&chunk)) {
    if (chunk.has_file()) *bytes += chunk.file().data().size();
  }
  Require("download", reader->Finish());
  return absl::ToDoubleSeconds(absl::Now() - start);
}

// Seconds to stream `path` straight from the node, as the gateway would without a spool.
double DirectOnce(const FakeNode& node, const TlsIdentity& gateway, const std::string& snapshot,
                  const std::string& path, size_t* bytes) {
  auto channel = grpc::CreateChannel(node.address(), MutualTlsChannelCredentials(gateway));
  auto stub = kura::v1::NodeAgent::NewStub(channel);
  kura::v1::NodeReadSnapshotFileRequest request;
  request.set_snapshot_id(snapshot);
  request.set_path(path);
  grpc::ClientContext context;
  const absl::Time start = absl::Now();
  auto reader = stub->ReadSnapshotFile(&context, request);
  kura::v1::NodeSnapshotFile chunk;
  *bytes = 0;
  while (reader->Read(&chunk)) *bytes += chunk.data().size();
  Require("direct read", reader->Finish());
  return absl::ToDoubleSeconds(absl::Now() - start);
}

int Main(int argc, char** argv) {
  const int mib = argc > 1 ? std::atoi(argv[1]) : 200;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 5;
  if (mib <= 0 || rounds <= 0) {
    std::fprintf(stderr, "usage: release_bench [MIB] [ROUNDS]\n");
    return 2;
  }
  const std::string file = "big-" + std::to_string(mib) + "mib.csv";
  Stack stack;
  const absl::Time now = absl::Now();
  stack.AddUser("alice", {gateway::Role::kResearcher}, {"bench"});
  stack.AddUser("rev", {gateway::Role::kReviewer}, {"bench"});
  stack.AddGrantedSchema("bench", "claims", gateway::DataClass::kAnonymized, now - absl::Hours(1),
                         now + absl::Hours(24));
  TlsIdentity terminal = stack.Terminal("vdi-bench", gateway::TerminalClass::kDedicated);
  if (absl::Status s = stack.StartGateway({"--heartbeat-interval", "60"}); !s.ok()) {
    std::fprintf(stderr, "release_bench: %s\n", s.ToString().c_str());
    return 1;
  }
  FakeNode node(stack.Node("n1"));
  kura::v1::RegisterNodeRequest reg;
  reg.set_address(node.address());
  reg.mutable_capacity()->set_cpus(8);
  reg.mutable_capacity()->set_memory_bytes(16ull << 30);
  kura::v1::RegisterNodeResponse registered;
  auto reg_context = CallContext();
  Require("register",
          stack.Registry(stack.Node("n1"))->Register(reg_context.get(), reg, &registered));
  absl::StatusOr<std::string> alice = stack.Login(terminal, "alice");
  absl::StatusOr<std::string> rev = stack.Login(terminal, "rev");
  if (!alice.ok() || !rev.ok()) {
    std::fprintf(stderr, "release_bench: login failed\n");
    return 1;
  }
  kura::v1::OpenWorkspaceRequest open;
  open.set_project("bench");
  kura::v1::Workspace workspace;
  auto open_context = CallContext(*alice);
  Require("open workspace",
          stack.Researcher(terminal)->OpenWorkspace(open_context.get(), open, &workspace));
  kura::v1::RequestExportRequest ask;
  ask.set_workspace_id(workspace.id());
  ask.add_paths(file);
  ask.set_justification("benchmark");
  kura::v1::ExportRequest request;
  auto ask_context = CallContext(*alice);
  Require("request export",
          stack.Researcher(terminal)->RequestExport(ask_context.get(), ask, &request));
  kura::v1::VoteRequest vote;
  vote.set_id(request.id());
  vote.set_version(request.version());
  vote.set_file(file);
  vote.set_decision("approve");
  kura::v1::ExportRequest voted;
  auto vote_context = CallContext(*rev);
  Require("vote", stack.Researcher(terminal)->Vote(vote_context.get(), vote, &voted));

  double best_gateway = 1e9, best_direct = 1e9;
  size_t bytes = 0;
  for (int i = 0; i < rounds; ++i) {
    best_gateway =
        std::min(best_gateway, DownloadOnce(stack, terminal, *alice, request.id(), &bytes));
    best_direct = std::min(best_direct, DirectOnce(node, stack.GatewayIdentity(),
                                                   request.snapshot_id(), file, &bytes));
  }
  const double mb = static_cast<double>(bytes) / 1e6;
  std::printf("release of one %d MiB file, best of %d rounds\n", mib, rounds);
  std::printf(
      "  kura: through kura-gateway (spool, size and SHA-256 check, re-send): %8.1f ms"
      "  %7.1f MB/s\n",
      best_gateway * 1e3, mb / best_gateway);
  std::printf(
      "  anchor: the same bytes straight from the node over mutual TLS:       %8.1f ms"
      "  %7.1f MB/s\n",
      best_direct * 1e3, mb / best_direct);
  std::printf("  ratio kura/anchor (time): %.2f\n", best_gateway / best_direct);
  return 0;
}

}  // namespace
}  // namespace kura::e2e

int main(int argc, char** argv) { return kura::e2e::Main(argc, argv); }
