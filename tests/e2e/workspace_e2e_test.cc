// Workspaces through the gateway: policy (membership, grants, terminal class), ownership by
// id, proxying of jobs, attach, upload and outputs to a node over mutual TLS, grant expiry,
// restart, and the audit trail. The node here is FakeNode (real TLS, real gRPC) so that these
// tests exercise the gateway alone; node_e2e_test.cc runs the real kura-node.

#include <sqlite3.h>

#include <grpcpp/create_channel.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"
#include "common/child_process.h"
#include "common/crypto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/e2e/fake_node.h"
#include "tests/e2e/stack.h"

namespace kura::e2e {
namespace {

using gateway::DataClass;
using gateway::TerminalClass;
using ::testing::HasSubstr;
using ::testing::Not;

class WorkspaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const absl::Time now = absl::Now();
    stack_.AddResearcher("alice", {"cancer-2026"});
    stack_.AddResearcher("bob", {"diabetes-2026"});
    stack_.AddGrantedSchema("cancer-2026", "claims", DataClass::kAnonymized,
                            now - absl::Hours(1), now + absl::Hours(24));
    stack_.AddGrantedSchema("cancer-2026", "claims_pseudo", DataClass::kPseudonymized,
                            now - absl::Hours(1), now + absl::Hours(24));
    stack_.AddGrantedSchema("diabetes-2026", "claims", DataClass::kAnonymized,
                            now - absl::Hours(1), now + absl::Hours(24));
    standard_ = stack_.Terminal("vdi-01", TerminalClass::kStandard);
    dedicated_ = stack_.Terminal("vdi-sec", TerminalClass::kDedicated);
    ASSERT_TRUE(stack_.StartGateway({"--heartbeat-interval", "60"}).ok());
    node_identity_ = stack_.Node("n1");
    node_ = std::make_unique<FakeNode>(node_identity_);
    ASSERT_TRUE(RegisterNode().ok());
  }

  grpc::Status RegisterNode() {
    kura::v1::RegisterNodeRequest request;
    request.set_address(node_->address());
    request.mutable_capacity()->set_cpus(8);
    request.mutable_capacity()->set_memory_bytes(16ull << 30);
    kura::v1::RegisterNodeResponse response;
    auto context = CallContext();
    return stack_.Registry(node_identity_)->Register(context.get(), request, &response);
  }

  std::string LoginAs(const TlsIdentity& terminal, const std::string& user) {
    absl::StatusOr<std::string> token = stack_.Login(terminal, user);
    EXPECT_TRUE(token.ok()) << token.status();
    return token.value_or("");
  }

  grpc::Status Open(const TlsIdentity& terminal, const std::string& token,
                    const std::string& project, const std::vector<std::string>& schemas,
                    kura::v1::Workspace* workspace) {
    kura::v1::OpenWorkspaceRequest request;
    request.set_project(project);
    request.mutable_resources()->set_cpus(1);
    request.mutable_resources()->set_memory_bytes(1ull << 30);
    for (const std::string& schema : schemas) request.add_schemas(schema);
    auto context = CallContext(token);
    return stack_.Researcher(terminal)->OpenWorkspace(context.get(), request, workspace);
  }

  struct JobResult {
    grpc::Status status;
    std::string stdout_text;
    std::string stderr_text;
    int exit_code = -1;
  };
  JobResult Run(const TlsIdentity& terminal, const std::string& token, const std::string& id,
                const std::vector<std::string>& argv) {
    kura::v1::JobRequest request;
    request.set_workspace_id(id);
    for (const std::string& arg : argv) request.add_argv(arg);
    auto context = CallContext(token);
    auto reader = stack_.Researcher(terminal)->RunJob(context.get(), request);
    JobResult result;
    kura::v1::JobOutput output;
    while (reader->Read(&output)) {
      if (output.has_stdout()) result.stdout_text += output.stdout();
      if (output.has_stderr()) result.stderr_text += output.stderr();
      if (output.output_case() == kura::v1::JobOutput::kExitCode) {
        result.exit_code = output.exit_code();
      }
    }
    result.status = reader->Finish();
    return result;
  }

  std::vector<gateway::AuditEvent> Audit() {
    absl::StatusOr<std::vector<gateway::AuditEvent>> events = stack_.store().ListAuditEvents();
    EXPECT_TRUE(events.ok());
    return events.value_or(std::vector<gateway::AuditEvent>{});
  }

  bool Audited(absl::string_view action, absl::string_view outcome,
               absl::string_view details_part = "") {
    for (const gateway::AuditEvent& event : Audit()) {
      if (event.entry.action == action && event.entry.outcome == outcome &&
          absl::StrContains(event.entry.details_json, details_part)) {
        return true;
      }
    }
    return false;
  }

  Stack stack_;
  TlsIdentity standard_;
  TlsIdentity dedicated_;
  TlsIdentity node_identity_;
  std::unique_ptr<FakeNode> node_;
};

TEST_F(WorkspaceTest, PseudonymizedSchemaIsRefusedFromAStandardTerminalWithTheReason) {
  const std::string token = LoginAs(standard_, "alice");
  kura::v1::Workspace workspace;
  grpc::Status all = Open(standard_, token, "cancer-2026", {}, &workspace);
  EXPECT_EQ(all.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(all.error_message(), HasSubstr("dedicated"));
  grpc::Status pseudo = Open(standard_, token, "cancer-2026", {"claims_pseudo"}, &workspace);
  EXPECT_EQ(pseudo.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(pseudo.error_message(), HasSubstr("dedicated"));
  EXPECT_TRUE(node_->opened().empty());
  EXPECT_TRUE(Audited("workspace.open", "denied", "dedicated"));

  grpc::Status anonymized = Open(standard_, token, "cancer-2026", {"claims"}, &workspace);
  ASSERT_TRUE(anonymized.ok()) << anonymized.error_message();
  const std::vector<kura::v1::NodeOpenWorkspaceRequest> opened = node_->opened();
  ASSERT_EQ(opened.size(), 1u);
  const kura::v1::NodeOpenWorkspaceRequest& sent = opened[0];
  ASSERT_EQ(sent.schemas_size(), 1);
  EXPECT_EQ(sent.schemas(0).name(), "claims");
  EXPECT_EQ(sent.user(), "alice");
  EXPECT_EQ(workspace.state(), "running");
}

TEST_F(WorkspaceTest, DedicatedTerminalMountsExactlyTheGrantedSchemas) {
  const std::string token = LoginAs(dedicated_, "alice");
  kura::v1::Workspace workspace;
  grpc::Status status = Open(dedicated_, token, "cancer-2026", {}, &workspace);
  ASSERT_TRUE(status.ok()) << status.error_message();
  const std::vector<kura::v1::NodeOpenWorkspaceRequest> opened = node_->opened();
  ASSERT_EQ(opened.size(), 1u);
  std::vector<std::string> mounted;
  for (const auto& schema : opened[0].schemas()) mounted.push_back(schema.name());
  EXPECT_EQ(mounted, (std::vector<std::string>{"claims", "claims_pseudo"}));
  EXPECT_TRUE(Audited("workspace.open", "ok"));
  EXPECT_TRUE(Audited("mount", "ok", "pseudonymized"));
}

TEST_F(WorkspaceTest, AnotherProjectIsRefused) {
  const std::string token = LoginAs(standard_, "alice");
  kura::v1::Workspace workspace;
  grpc::Status status = Open(standard_, token, "diabetes-2026", {}, &workspace);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("not a member"));
  grpc::Status unknown = Open(standard_, token, "no-such-project", {}, &workspace);
  EXPECT_EQ(unknown.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(WorkspaceTest, AnotherProjectsSchemaIsRefusedByName) {
  const absl::Time now = absl::Now();
  stack_.AddGrantedSchema("diabetes-2026", "hba1c", DataClass::kAnonymized, now - absl::Hours(1),
                          now + absl::Hours(24));
  const std::string token = LoginAs(dedicated_, "alice");
  kura::v1::Workspace workspace;
  grpc::Status status = Open(dedicated_, token, "cancer-2026", {"claims", "hba1c"}, &workspace);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("hba1c"));
  EXPECT_TRUE(node_->opened().empty());
}

TEST_F(WorkspaceTest, RevokedNodeCertificateCanNoLongerHeartbeat) {
  absl::StatusOr<gateway::PeerIdentity> node = gateway::ParsePeerIdentity(node_identity_.cert_pem);
  ASSERT_TRUE(node.ok());
  kura::v1::HeartbeatResponse answer;
  auto before = CallContext();
  ASSERT_TRUE(stack_.Registry(node_identity_)->Heartbeat(before.get(), {}, &answer).ok());
  ASSERT_TRUE(stack_.store().RevokeCertificate(node->serial, "node retired", absl::Now()).ok());
  auto after = CallContext();
  grpc::Status status = stack_.Registry(node_identity_)->Heartbeat(after.get(), {}, &answer);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_THAT(status.error_message(), HasSubstr("revoked"));
}

TEST_F(WorkspaceTest, AnotherUsersWorkspaceIsNotFoundWhateverTheCall) {
  const std::string alice = LoginAs(standard_, "alice");
  kura::v1::Workspace workspace;
  ASSERT_TRUE(Open(standard_, alice, "cancer-2026", {"claims"}, &workspace).ok());
  const std::string bob = LoginAs(standard_, "bob");

  JobResult job = Run(standard_, bob, workspace.id(), {"cat", "/data/claims/claims.csv"});
  EXPECT_EQ(job.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(job.status.error_message(), Not(HasSubstr("cancer")));
  EXPECT_TRUE(job.stdout_text.empty());

  kura::v1::ListOutputsRequest outputs;
  outputs.set_workspace_id(workspace.id());
  kura::v1::ListOutputsResponse listed;
  auto context = CallContext(bob);
  EXPECT_EQ(stack_.Researcher(standard_)->ListOutputs(context.get(), outputs, &listed)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(listed.files_size(), 0);

  kura::v1::CloseWorkspaceRequest close;
  close.set_workspace_id(workspace.id());
  kura::v1::CloseWorkspaceResponse closed;
  auto close_context = CallContext(bob);
  EXPECT_EQ(stack_.Researcher(standard_)->CloseWorkspace(close_context.get(), close, &closed)
                .error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(node_->closed().empty());

  kura::v1::ListWorkspacesResponse bobs;
  auto list_context = CallContext(bob);
  ASSERT_TRUE(stack_.Researcher(standard_)->ListWorkspaces(list_context.get(), {}, &bobs).ok());
  EXPECT_EQ(bobs.workspaces_size(), 0);
  EXPECT_TRUE(Audited("job", "denied"));
}

TEST_F(WorkspaceTest, JobOutputAndExitCodeStreamThrough) {
  const std::string token = LoginAs(standard_, "alice");
  kura::v1::Workspace workspace;
  ASSERT_TRUE(Open(standard_, token, "cancer-2026", {"claims"}, &workspace).ok());
  JobResult job = Run(standard_, token, workspace.id(), {"exit", "3"});
  ASSERT_TRUE(job.status.ok()) << job.status.error_message();
  EXPECT_EQ(job.stdout_text, "ran: exit 3\n");
  EXPECT_EQ(job.stderr_text, "a line on stderr\n");
  EXPECT_EQ(job.exit_code, 3);
  EXPECT_TRUE(Audited("job", "ok", "exit 3"));

  kura::v1::ListOutputsRequest outputs;
  outputs.set_workspace_id(workspace.id());
  kura::v1::ListOutputsResponse listed;
  auto context = CallContext(token);
  ASSERT_TRUE(stack_.Researcher(standard_)->ListOutputs(context.get(), outputs, &listed).ok());
  ASSERT_EQ(listed.files_size(), 1);
  EXPECT_EQ(listed.files(0).path(), workspace.id() + "/table.csv");
}

TEST_F(WorkspaceTest, UploadIsHashedAndAudited) {
  const std::string token = LoginAs(standard_, "alice");
  kura::v1::Workspace workspace;
  ASSERT_TRUE(Open(standard_, token, "cancer-2026", {"claims"}, &workspace).ok());
  const std::string script = "import pandas\nprint('analysis')\n";
  auto context = CallContext(token);
  kura::v1::UploadResult result;
  auto writer = stack_.Researcher(standard_)->Upload(context.get(), &result);
  kura::v1::UploadChunk start;
  start.mutable_start()->set_workspace_id(workspace.id());
  start.mutable_start()->set_path("analysis.py");
  start.mutable_start()->set_size(script.size());
  ASSERT_TRUE(writer->Write(start));
  kura::v1::UploadChunk data;
  data.set_data(script);
  ASSERT_TRUE(writer->Write(data));
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(result.sha256(), Sha256Hex(script));
  EXPECT_TRUE(Audited("upload", "ok", Sha256Hex(script)));
}

TEST_F(WorkspaceTest, UploadEscapingTheHomeIsRefused) {
  const std::string token = LoginAs(standard_, "alice");
  kura::v1::Workspace workspace;
  ASSERT_TRUE(Open(standard_, token, "cancer-2026", {"claims"}, &workspace).ok());
  auto context = CallContext(token);
  kura::v1::UploadResult result;
  auto writer = stack_.Researcher(standard_)->Upload(context.get(), &result);
  kura::v1::UploadChunk start;
  start.mutable_start()->set_workspace_id(workspace.id());
  start.mutable_start()->set_path("../../etc/cron.d/x");
  start.mutable_start()->set_size(1);
  writer->Write(start);
  writer->WritesDone();
  EXPECT_EQ(writer->Finish().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(WorkspaceTest, AttachCarriesBytesBothWaysAndTheExitCode) {
  const std::string token = LoginAs(standard_, "alice");
  kura::v1::Workspace workspace;
  ASSERT_TRUE(Open(standard_, token, "cancer-2026", {"claims"}, &workspace).ok());
  auto context = CallContext(token);
  auto stream = stack_.Researcher(standard_)->Attach(context.get());
  kura::v1::AttachInput input;
  input.mutable_start()->set_workspace_id(workspace.id());
  input.mutable_start()->mutable_size()->set_rows(40);
  input.mutable_start()->mutable_size()->set_cols(100);
  ASSERT_TRUE(stream->Write(input));
  input.mutable_resize()->set_rows(50);
  input.mutable_resize()->set_cols(120);
  ASSERT_TRUE(stream->Write(input));
  input.set_stdin("echo hi\r");
  ASSERT_TRUE(stream->Write(input));
  input.set_stdin("\x03");  // Ctrl-C reaches the workload as a byte
  ASSERT_TRUE(stream->Write(input));
  std::string seen;
  int exit_code = -1;
  kura::v1::AttachOutput output;
  while (stream->Read(&output)) {
    if (output.has_data()) seen += output.data();
    if (output.output_case() == kura::v1::AttachOutput::kExitCode) {
      exit_code = output.exit_code();
      stream->WritesDone();
    }
  }
  ASSERT_TRUE(stream->Finish().ok());
  EXPECT_THAT(seen, HasSubstr("attached to " + workspace.id() + " 40x100"));
  EXPECT_THAT(seen, HasSubstr("resized 50x120"));
  EXPECT_THAT(seen, HasSubstr("echo hi"));
  EXPECT_EQ(exit_code, 130);
  EXPECT_TRUE(Audited("attach", "ok"));
}

TEST_F(WorkspaceTest, ExpiredGrantIsRefused) {
  const absl::Time now = absl::Now();
  stack_.store().AddProjectMember("diabetes-2026", "alice").IgnoreError();
  ASSERT_TRUE(stack_.store().CreateProject({"old-2020", "ended permit", now}).ok());
  ASSERT_TRUE(stack_.store().AddProjectMember("old-2020", "alice").ok());
  stack_.AddGrantedSchema("old-2020", "claims", DataClass::kAnonymized, now - absl::Hours(48),
                          now - absl::Hours(24));
  const std::string token = LoginAs(standard_, "alice");
  kura::v1::Workspace workspace;
  grpc::Status status = Open(standard_, token, "old-2020", {}, &workspace);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("expired"));
  grpc::Status named = Open(standard_, token, "old-2020", {"claims"}, &workspace);
  EXPECT_EQ(named.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(WorkspaceTest, GrantEndingClosesRunningWorkspaces) {
  const absl::Time now = absl::Now();
  ASSERT_TRUE(stack_.store().CreateProject({"short", "a short permit", now}).ok());
  ASSERT_TRUE(stack_.store().AddProjectMember("short", "alice").ok());
  stack_.AddGrantedSchema("short", "claims", DataClass::kAnonymized, now - absl::Hours(1),
                          now + absl::Seconds(8));
  const std::string token = LoginAs(standard_, "alice");
  kura::v1::Workspace used;
  kura::v1::Workspace idle;
  ASSERT_TRUE(Open(standard_, token, "short", {}, &used).ok());
  ASSERT_TRUE(Open(standard_, token, "short", {}, &idle).ok());

  // The node's heartbeat is answered with the idle workspace to close once the grant ended.
  bool told_to_close = false;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (!told_to_close && absl::Now() < deadline) {
    kura::v1::HeartbeatRequest beat;
    beat.add_workspace_ids(idle.id());
    kura::v1::HeartbeatResponse answer;
    auto context = CallContext();
    ASSERT_TRUE(stack_.Registry(node_identity_)->Heartbeat(context.get(), beat, &answer).ok());
    for (const std::string& id : answer.close_workspace_ids()) told_to_close |= id == idle.id();
    if (!told_to_close) absl::SleepFor(absl::Milliseconds(200));
  }
  EXPECT_TRUE(told_to_close);

  // The other one is refused (and closed) at its next use.
  JobResult job = Run(standard_, token, used.id(), {"true"});
  EXPECT_EQ(job.status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(job.status.error_message(), HasSubstr("permit"));
  std::vector<std::string> closed = node_->closed();
  EXPECT_NE(std::find(closed.begin(), closed.end(), used.id()), closed.end());
}

TEST_F(WorkspaceTest, HeartbeatClosesWorkspacesTheGatewayDoesNotKnowOrClosed) {
  const std::string token = LoginAs(standard_, "alice");
  kura::v1::Workspace workspace;
  ASSERT_TRUE(Open(standard_, token, "cancer-2026", {"claims"}, &workspace).ok());
  kura::v1::HeartbeatRequest beat;
  beat.add_workspace_ids(workspace.id());
  beat.add_workspace_ids("ws-unknown");
  kura::v1::HeartbeatResponse answer;
  auto context = CallContext();
  ASSERT_TRUE(stack_.Registry(node_identity_)->Heartbeat(context.get(), beat, &answer).ok());
  EXPECT_EQ(std::vector<std::string>(answer.close_workspace_ids().begin(),
                                     answer.close_workspace_ids().end()),
            std::vector<std::string>{"ws-unknown"});
}

TEST_F(WorkspaceTest, OperatorsListCordonAndDrainNodesOthersAreRefused) {
  stack_.AddUser("olga", {gateway::Role::kOperator});
  const std::string alice = LoginAs(standard_, "alice");
  kura::v1::Workspace workspace;
  ASSERT_TRUE(Open(standard_, alice, "cancer-2026", {"claims"}, &workspace).ok());

  auto researcher_context = CallContext(alice);
  kura::v1::ListNodesResponse refused;
  grpc::Status denied = kura::v1::Operator::NewStub(grpc::CreateChannel(
                            stack_.address(), MutualTlsChannelCredentials(standard_)))
                            ->ListNodes(researcher_context.get(), {}, &refused);
  EXPECT_EQ(denied.error_code(), grpc::StatusCode::PERMISSION_DENIED);

  const std::string olga = LoginAs(standard_, "olga");
  auto operators = kura::v1::Operator::NewStub(
      grpc::CreateChannel(stack_.address(), MutualTlsChannelCredentials(standard_)));
  kura::v1::ListNodesResponse nodes;
  auto list_context = CallContext(olga);
  ASSERT_TRUE(operators->ListNodes(list_context.get(), {}, &nodes).ok());
  ASSERT_EQ(nodes.nodes_size(), 1);
  EXPECT_EQ(nodes.nodes(0).id(), "n1");
  EXPECT_TRUE(nodes.nodes(0).healthy());
  EXPECT_EQ(nodes.nodes(0).allocated().cpus(), 1.0);
  ASSERT_EQ(nodes.nodes(0).workspace_ids_size(), 1);

  kura::v1::DrainNodeRequest drain;
  drain.set_node("n1");
  kura::v1::DrainNodeResponse drained;
  auto drain_context = CallContext(olga);
  ASSERT_TRUE(operators->DrainNode(drain_context.get(), drain, &drained).ok());
  ASSERT_EQ(drained.closed_workspace_ids_size(), 1);
  EXPECT_EQ(drained.closed_workspace_ids(0), workspace.id());
  std::vector<std::string> closed = node_->closed();
  EXPECT_NE(std::find(closed.begin(), closed.end(), workspace.id()), closed.end());
  kura::v1::Workspace another;
  EXPECT_EQ(Open(standard_, alice, "cancer-2026", {"claims"}, &another).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);

  kura::v1::CordonNodeRequest uncordon;
  uncordon.set_node("n1");
  uncordon.set_cordoned(false);
  kura::v1::CordonNodeResponse done;
  auto cordon_context = CallContext(olga);
  ASSERT_TRUE(operators->CordonNode(cordon_context.get(), uncordon, &done).ok());
  EXPECT_TRUE(Open(standard_, alice, "cancer-2026", {"claims"}, &another).ok());
  EXPECT_TRUE(Audited("node.drain", "ok"));
  EXPECT_TRUE(Audited("nodes.list", "denied"));
}

TEST_F(WorkspaceTest, CordonedNodeTakesNoWorkspace) {
  ASSERT_TRUE(stack_.store().SetNodeCordoned("n1", true).ok());
  const std::string token = LoginAs(standard_, "alice");
  kura::v1::Workspace workspace;
  grpc::Status status = Open(standard_, token, "cancer-2026", {"claims"}, &workspace);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_F(WorkspaceTest, GatewayRestartKeepsSessionsAndWorkspaces) {
  const std::string token = LoginAs(standard_, "alice");
  kura::v1::Workspace workspace;
  ASSERT_TRUE(Open(standard_, token, "cancer-2026", {"claims"}, &workspace).ok());
  stack_.StopGateway();
  ASSERT_TRUE(stack_.StartGateway({"--heartbeat-interval", "60"}).ok());
  kura::v1::ListWorkspacesResponse listed;
  auto context = CallContext(token);
  ASSERT_TRUE(stack_.Researcher(standard_)->ListWorkspaces(context.get(), {}, &listed).ok());
  ASSERT_EQ(listed.workspaces_size(), 1);
  EXPECT_EQ(listed.workspaces(0).id(), workspace.id());
  JobResult job = Run(standard_, token, workspace.id(), {"exit", "0"});
  EXPECT_TRUE(job.status.ok()) << job.status.error_message();
  EXPECT_EQ(job.exit_code, 0);
}

// Edits one stored audit event behind the store's back (dropping the append-only triggers
// first, as an attacker with the file would) and expects `kura-admin audit verify` to notice.
TEST_F(WorkspaceTest, AuditLogEditedOnDiskIsDetected) {
  std::optional<std::string> admin = BuiltProgram("gateway/kura-admin");
  if (!admin.has_value()) GTEST_SKIP() << "kura-admin is not built in this tree";
  const std::string token = LoginAs(standard_, "alice");
  kura::v1::Workspace workspace;
  ASSERT_FALSE(Open(standard_, token, "cancer-2026", {}, &workspace).ok());  // a refusal
  stack_.StopGateway();
  auto verify = [&]() {
    absl::StatusOr<ChildProcess> child =
        ChildProcess::Spawn({*admin, "audit", "verify", "--store", stack_.store_path()}, {});
    EXPECT_TRUE(child.ok());
    absl::StatusOr<ExitStatus> exit = child->Wait();
    return exit.ok() ? exit->ShellCode() : -1;
  };
  ASSERT_EQ(verify(), 0);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(stack_.store_path().c_str(), &db), SQLITE_OK);
  char* error = nullptr;
  int rc = sqlite3_exec(db,
                        "DROP TRIGGER audit_events_no_update;"
                        "UPDATE audit_events SET outcome = 'ok' WHERE outcome = 'denied';",
                        nullptr, nullptr, &error);
  EXPECT_EQ(rc, SQLITE_OK) << (error ? error : "");
  sqlite3_free(error);
  EXPECT_GT(sqlite3_changes(db), 0);
  sqlite3_close(db);
  EXPECT_NE(verify(), 0);
}

// GPUs are scheduled one device at a time: a node offering two takes two one-GPU workspaces,
// not a third, and a CPU-only workspace still fits beside them.
TEST_F(WorkspaceTest, GpusArePlacedOneDeviceAtATime) {
  kura::v1::RegisterNodeRequest reg;
  reg.set_address(node_->address());
  reg.mutable_capacity()->set_cpus(8);
  reg.mutable_capacity()->set_memory_bytes(16ull << 30);
  (*reg.mutable_capacity()->mutable_devices())["nvidia.com/gpu"] = 2;
  kura::v1::RegisterNodeResponse registered;
  auto reg_context = CallContext();
  ASSERT_TRUE(stack_.Registry(node_identity_)->Register(reg_context.get(), reg, &registered).ok());
  const std::string token = LoginAs(standard_, "alice");
  auto open_gpu = [&](kura::v1::Workspace* workspace) {
    kura::v1::OpenWorkspaceRequest request;
    request.set_project("cancer-2026");
    request.add_schemas("claims");
    request.mutable_resources()->set_cpus(1);
    request.mutable_resources()->set_memory_bytes(1ull << 30);
    (*request.mutable_resources()->mutable_devices())["nvidia.com/gpu"] = 1;
    auto context = CallContext(token);
    return stack_.Researcher(standard_)->OpenWorkspace(context.get(), request, workspace);
  };
  kura::v1::Workspace first, second, third, cpu_only;
  ASSERT_TRUE(open_gpu(&first).ok());
  grpc::Status status = open_gpu(&second);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(second.resources().devices().at("nvidia.com/gpu"), 1u);
  status = open_gpu(&third);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(status.error_message(), HasSubstr("nvidia.com/gpu"));
  EXPECT_TRUE(Open(standard_, token, "cancer-2026", {"claims"}, &cpu_only).ok());
}

}  // namespace
}  // namespace kura::e2e
