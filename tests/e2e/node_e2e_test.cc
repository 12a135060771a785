// The whole path with the real analysis node: kura-gateway and kura-node as processes, the
// node registering itself over mutual TLS, a workspace sandbox with the granted schema mounted
// read-only at /data, a batch job, its outputs. Needs root (the sandbox's namespaces) and a
// built kura-node; skipped with the reason otherwise.

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/child_process.h"
#include "common/unique_fd.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/stack.h"

namespace kura::e2e {
namespace {

using gateway::DataClass;
using gateway::TerminalClass;
using ::testing::HasSubstr;

struct Job {
  grpc::Status status;
  std::string out;
  int exit_code = -1;
};

Job RunJob(kura::v1::Researcher::Stub& stub, const std::string& token, const std::string& id,
           const std::string& script) {
  kura::v1::JobRequest request;
  request.set_workspace_id(id);
  request.add_argv("/bin/sh");
  request.add_argv("-c");
  request.add_argv(script);
  auto context = CallContext(token);
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
  auto reader = stub.RunJob(context.get(), request);
  Job job;
  kura::v1::JobOutput output;
  while (reader->Read(&output)) {
    if (output.has_stdout()) job.out += output.stdout();
    if (output.has_stderr()) job.out += output.stderr();
    if (output.output_case() == kura::v1::JobOutput::kExitCode) job.exit_code = output.exit_code();
  }
  job.status = reader->Finish();
  return job;
}

TEST(RealNodeTest, WorkspaceOnKuraNodeRunsAJobOverTheGrantedSchemaOnly) {
  std::optional<std::string> node_bin = BuiltProgram("node/kura-node");
  if (!node_bin.has_value()) GTEST_SKIP() << "kura-node is not built in this tree";
  if (geteuid() != 0) GTEST_SKIP() << "kura-node needs root for the sandbox's namespaces";

  Stack stack;
  const absl::Time now = absl::Now();
  stack.AddResearcher("alice", {"cancer-2026"});
  stack.AddGrantedSchema("cancer-2026", "claims", DataClass::kAnonymized, now - absl::Hours(1),
                         now + absl::Hours(24));
  std::ofstream(stack.state_dir() + "/schemas/claims/claims.csv")
      << "patient,age\np1,40\np2,51\np3,63\n";
  chmod((stack.state_dir() + "/schemas/claims/claims.csv").c_str(), 0644);
  chmod(stack.state_dir().c_str(), 0755);
  chmod((stack.state_dir() + "/schemas").c_str(), 0755);
  chmod((stack.state_dir() + "/schemas/claims").c_str(), 0755);
  TlsIdentity terminal = stack.Terminal("vdi-01", TerminalClass::kStandard);
  ASSERT_TRUE(stack.StartGateway({"--heartbeat-interval", "1"}).ok());

  absl::StatusOr<ChildProcess> node = stack.StartRealNode(*node_bin, "n1");
  ASSERT_TRUE(node.ok()) << node.status();

  bool registered = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!registered && absl::Now() < deadline) {
    absl::StatusOr<gateway::NodeRecord> record = stack.store().GetNode("n1");
    registered = record.ok() && record->last_heartbeat.has_value();
    if (!registered) absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(registered) << "kura-node did not register; its log is in " << stack.node_log();

  absl::StatusOr<std::string> token = stack.Login(terminal, "alice");
  ASSERT_TRUE(token.ok()) << token.status();
  auto stub = stack.Researcher(terminal);
  kura::v1::OpenWorkspaceRequest open;
  open.set_project("cancer-2026");
  open.mutable_resources()->set_cpus(1);
  open.mutable_resources()->set_memory_bytes(1ull << 30);
  kura::v1::Workspace workspace;
  auto context = CallContext(*token);
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(90)));
  grpc::Status opened = stub->OpenWorkspace(context.get(), open, &workspace);
  ASSERT_TRUE(opened.ok()) << opened.error_message();

  Job job = RunJob(*stub, *token, workspace.id(),
                   "wc -l < /data/claims/claims.csv; echo 3 > /outputs/rows.txt; exit 4");
  ASSERT_TRUE(job.status.ok()) << job.status.error_message();
  EXPECT_EQ(job.exit_code, 4) << job.out;
  EXPECT_THAT(job.out, HasSubstr("4"));

  Job write = RunJob(*stub, *token, workspace.id(), "echo x > /data/claims/claims.csv");
  ASSERT_TRUE(write.status.ok()) << write.status.error_message();
  EXPECT_NE(write.exit_code, 0) << "the schema must be mounted read-only";

  kura::v1::ListOutputsRequest outputs;
  outputs.set_workspace_id(workspace.id());
  kura::v1::ListOutputsResponse listed;
  auto list_context = CallContext(*token);
  ASSERT_TRUE(stub->ListOutputs(list_context.get(), outputs, &listed).ok());
  bool found = false;
  for (const auto& file : listed.files()) found |= file.path() == "rows.txt";
  EXPECT_TRUE(found);

  kura::v1::CloseWorkspaceRequest close;
  close.set_workspace_id(workspace.id());
  kura::v1::CloseWorkspaceResponse closed;
  auto close_context = CallContext(*token);
  EXPECT_TRUE(stub->CloseWorkspace(close_context.get(), close, &closed).ok());
  (void)node->Signal(SIGTERM);
  (void)node->Wait();
}

}  // namespace
}  // namespace kura::e2e
