// End to end: a real kura-node over mutual TLS, real supervisors and sandboxes.

#include <dirent.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "common/child_process.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/node/node_test_env.h"

namespace kura::node {
namespace {

using ::kura::node::testing::Eventually;
using ::kura::node::testing::NodeTestEnv;
using ::kura::node::testing::ReadFile;
using ::kura::node::testing::RunJob;
using ::testing::HasSubstr;

// Whether any process on the host runs as `host_uid` (the sandbox's id for a workspace user).
bool AnyProcessOf(uint32_t host_uid) {
  DIR* d = ::opendir("/proc");
  bool found = false;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream status(std::string("/proc/") + e->d_name + "/status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.rfind("Uid:", 0) != 0) continue;
      std::istringstream fields(line.substr(4));
      uint32_t real;
      fields >> real;
      if (real == host_uid) found = true;
      break;
    }
  }
  ::closedir(d);
  return found;
}

class NodeAgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "workspaces need root (namespaces, mounts, cgroups)";
    env_ = std::make_unique<NodeTestEnv>();
    env_->StartNode();
    stub_ = env_->GatewayStub();
  }

  v1::Workspace Open(const std::string& id, uint32_t uid, uint32_t idle_timeout = 0) {
    v1::NodeOpenWorkspaceRequest request = env_->OpenRequest(id, uid);
    request.set_idle_timeout_seconds(idle_timeout);
    grpc::ClientContext context;
    v1::Workspace ws;
    grpc::Status status = stub_->OpenWorkspace(&context, request, &ws);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return ws;
  }

  std::unique_ptr<NodeTestEnv> env_;
  std::unique_ptr<v1::NodeAgent::Stub> stub_;
};

TEST_F(NodeAgentTest, JobReadsSchemaWritesOutputsAndListOutputsHashesThem) {
  v1::Workspace ws = Open("ws-job", 1201);
  EXPECT_EQ(ws.state(), "running");
  const std::string script =
      "rows = open('/data/claims/claims.csv').read().splitlines()[1:]\n"
      "total = sum(int(r.split(',')[2]) for r in rows)\n"
      "open('/outputs/x.csv', 'w').write('n,total\\n%d,%d\\n' % (len(rows), total))\n"
      "print('rows', len(rows))\n";
  auto run = RunJob(stub_.get(), "ws-job", {"python3", "-c", script});
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "rows 3\n");

  v1::NodeListOutputsRequest list;
  list.set_workspace_id("ws-job");
  v1::NodeListOutputsResponse outputs;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->ListOutputs(&context, list, &outputs).ok());
  ASSERT_EQ(outputs.files_size(), 1);
  EXPECT_EQ(outputs.files(0).path(), "x.csv");
  EXPECT_EQ(outputs.files(0).size(), 14u);
  EXPECT_EQ(outputs.files(0).sha256(), Sha256Hex("n,total\n3,410\n"));
}

TEST_F(NodeAgentTest, KuraPythonModuleWritesATableAndItsSpecAndIsReadOnly) {
  Open("ws-py", 1210);
  const std::string script =
      "import kura\n"
      "print(kura.__file__)\n"
      "kura.table(rows=['age'], statistic='sum', value='cost', data='/data/claims/claims.csv',\n"
      "           schema='claims', table='claims', unit='patient', out='/outputs/t.csv',\n"
      "           min_count=None)\n";
  auto run = RunJob(stub_.get(), "ws-py", {"python3", "-c", script});
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "/opt/kura/python/kura/__init__.py\n");
  const std::string outputs = env_->state() + "/workspaces/ws-py/outputs/";
  EXPECT_EQ(ReadFile(outputs + "t.csv"), "age,value\n40,100\n51,230\n62,80\n");
  EXPECT_THAT(ReadFile(outputs + "t.spec.json"), HasSubstr("\"output\": \"t.csv\""));
  auto write = RunJob(stub_.get(), "ws-py", {"sh", "-c", "echo x > /opt/kura/python/kura/x.py"});
  EXPECT_NE(write.exit_code, 0) << "the module is bound read-only";
}

TEST_F(NodeAgentTest, JobStreamsStderrAndExitStatus) {
  Open("ws-exit", 1202);
  auto run = RunJob(stub_.get(), "ws-exit", {"sh", "-c", "echo out; echo err >&2; exit 7"});
  ASSERT_TRUE(run.status.ok()) << run.status.error_message();
  EXPECT_EQ(run.out, "out\n");
  EXPECT_EQ(run.err, "err\n");
  EXPECT_EQ(run.exit_code, 7);
  auto missing = RunJob(stub_.get(), "ws-exit", {"no-such-program"});
  EXPECT_EQ(missing.exit_code, 127);
}

TEST_F(NodeAgentTest, SchemaIsReadOnlyAndNothingOfTheHostIsVisible) {
  Open("ws-ro", 1203);
  auto write = RunJob(stub_.get(), "ws-ro", {"sh", "-c", "echo x > /data/claims/new.csv"});
  ASSERT_TRUE(write.status.ok());
  EXPECT_NE(write.exit_code, 0);
  EXPECT_FALSE(std::filesystem::exists(env_->schema_dir() + "/new.csv"));
  auto look = RunJob(stub_.get(), "ws-ro",
                     {"sh", "-c", "test -e " + env_->state() + " || test -e /root/.bashrc"});
  EXPECT_NE(look.exit_code, 0) << "the node's state directory is visible inside";
  auto id = RunJob(stub_.get(), "ws-ro", {"id", "-u"});
  EXPECT_EQ(id.out, "1203\n");
  auto home = RunJob(stub_.get(), "ws-ro", {"sh", "-c", "echo $HOME $(pwd) $USER"});
  EXPECT_EQ(home.out, "/home/alice /home/alice alice\n");
  // No network: not even the node agent's own port on the host's loopback.
  auto connect = RunJob(stub_.get(), "ws-ro",
                        {"python3", "-c",
                         "import socket; socket.create_connection(('127.0.0.1', " +
                             std::to_string(env_->port()) + "), timeout=5)"});
  EXPECT_NE(connect.exit_code, 0);
  // Refused by the seccomp filter (no inet sockets at all) or by the empty network namespace.
  EXPECT_THAT(connect.err,
              ::testing::AnyOf(HasSubstr("PermissionError"), HasSubstr("ConnectionRefused")));
}

TEST_F(NodeAgentTest, ChangedSchemaManifestIsRefused) {
  v1::NodeOpenWorkspaceRequest request = env_->OpenRequest("ws-bad", 1204);
  request.mutable_schemas(0)->set_manifest_sha256(Sha256Hex("an older manifest"));
  grpc::ClientContext context;
  v1::Workspace ws;
  grpc::Status status = stub_->OpenWorkspace(&context, request, &ws);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_THAT(status.error_message(), HasSubstr("manifest"));
  auto run = RunJob(stub_.get(), "ws-bad", {"true"});
  EXPECT_EQ(run.status.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(NodeAgentTest, OnlyTheGatewayMayCall) {
  struct Case {
    const char* who;
    std::unique_ptr<v1::NodeAgent::Stub> stub;
  };
  Case cases[] = {
      {"terminal", env_->Stub(env_->terminal())},
      {"another node", env_->Stub(env_->other_node())},
      {"a gateway of another CA", env_->Stub(env_->foreign_gateway())},
  };
  for (Case& c : cases) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    v1::Workspace ws;
    grpc::Status status = c.stub->OpenWorkspace(&context, env_->OpenRequest("ws-evil", 1205), &ws);
    EXPECT_FALSE(status.ok()) << c.who;
    EXPECT_THAT(status.error_code(), ::testing::AnyOf(grpc::StatusCode::UNAUTHENTICATED,
                                                      grpc::StatusCode::PERMISSION_DENIED,
                                                      grpc::StatusCode::UNAVAILABLE))
        << c.who;
  }
  EXPECT_FALSE(std::filesystem::exists(env_->state() + "/workspaces/ws-evil"));

  // Every call checks, not only the open: a terminal reaching an open workspace directly.
  Open("ws-target", 1208);
  auto terminal = env_->Stub(env_->terminal());
  auto unauthenticated = [](const grpc::Status& s) {
    return s.error_code() == grpc::StatusCode::UNAUTHENTICATED;
  };
  {
    grpc::ClientContext c;
    v1::Inventory inv;
    EXPECT_TRUE(unauthenticated(terminal->GetInventory(&c, {}, &inv)));
  }
  {
    grpc::ClientContext c;
    v1::NodeListOutputsRequest r;
    r.set_workspace_id("ws-target");
    v1::NodeListOutputsResponse out;
    EXPECT_TRUE(unauthenticated(terminal->ListOutputs(&c, r, &out)));
  }
  EXPECT_TRUE(unauthenticated(RunJob(terminal.get(), "ws-target", {"id"}).status));
  {
    grpc::ClientContext c;
    auto stream = terminal->Attach(&c);
    v1::AttachInput start;
    start.mutable_start()->set_workspace_id("ws-target");
    stream->Write(start);
    stream->WritesDone();
    v1::AttachOutput out;
    EXPECT_FALSE(stream->Read(&out));
    EXPECT_TRUE(unauthenticated(stream->Finish()));
  }
  {
    grpc::ClientContext c;
    v1::UploadResult result;
    auto writer = terminal->Upload(&c, &result);
    v1::UploadChunk start;
    start.mutable_start()->set_workspace_id("ws-target");
    start.mutable_start()->set_path("x.py");
    writer->Write(start);
    writer->WritesDone();
    EXPECT_TRUE(unauthenticated(writer->Finish()));
  }
  {
    grpc::ClientContext c;
    v1::NodeCloseWorkspaceRequest r;
    r.set_workspace_id("ws-target");
    v1::NodeCloseWorkspaceResponse out;
    EXPECT_TRUE(unauthenticated(terminal->CloseWorkspace(&c, r, &out)));
  }
  EXPECT_EQ(RunJob(stub_.get(), "ws-target", {"true"}).exit_code, 0) << "still running";
  grpc::ClientContext context;
  v1::Inventory inventory;
  ASSERT_TRUE(stub_->GetInventory(&context, {}, &inventory).ok());
  EXPECT_EQ(inventory.node_id(), "node-1");
  EXPECT_GT(inventory.capacity().cpus(), 0);
}

TEST_F(NodeAgentTest, CloseKillsEverythingInTheWorkspace) {
  Open("ws-close", 1206);
  auto bg =
      RunJob(stub_.get(), "ws-close", {"sh", "-c", "sleep 1000 >/dev/null 2>&1 & echo started"});
  ASSERT_EQ(bg.out, "started\n");
  EXPECT_TRUE(AnyProcessOf(101206));
  grpc::ClientContext context;
  v1::NodeCloseWorkspaceRequest close;
  close.set_workspace_id("ws-close");
  v1::NodeCloseWorkspaceResponse closed;
  ASSERT_TRUE(stub_->CloseWorkspace(&context, close, &closed).ok());
  EXPECT_TRUE(Eventually([] { return !AnyProcessOf(101206); }));
  auto after = RunJob(stub_.get(), "ws-close", {"true"});
  EXPECT_EQ(after.status.error_code(), grpc::StatusCode::NOT_FOUND);
}

TEST_F(NodeAgentTest, SandboxOfAKilledSupervisorIsKilledWhenTheAgentStarts) {
  Open("ws-orphan", 1209);
  auto bg = RunJob(stub_.get(), "ws-orphan", {"sh", "-c", "sleep 1000 >/dev/null 2>&1 & echo ok"});
  ASSERT_EQ(bg.out, "ok\n");
  std::string dir = env_->state() + "/workspaces/ws-orphan";
  pid_t supervisor = std::stoi(ReadFile(dir + "/supervisor.pid"));
  auto pidfd = PidfdOpen(supervisor);
  ASSERT_TRUE(pidfd.ok());
  ::kill(supervisor, SIGKILL);
  pollfd p{pidfd->get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 30000), 1);
  env_->StopNode();
  env_->StartNode();
  EXPECT_TRUE(Eventually([] { return !AnyProcessOf(101209); }));
  EXPECT_THAT(ReadFile(dir + "/closed"), HasSubstr("supervisor ended"));
}

TEST_F(NodeAgentTest, IdleTimeoutClosesTheWorkspace) {
  v1::NodeOpenWorkspaceRequest request = env_->OpenRequest("ws-idle", 1207);
  request.set_idle_timeout_seconds(1);
  grpc::ClientContext context;
  v1::Workspace ws;
  grpc::Status status = stub_->OpenWorkspace(&context, request, &ws);
  // On a loaded machine the second may pass before the open returns; then the node says so.
  if (!status.ok()) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_THAT(status.error_message(), HasSubstr("idle"));
  }
  EXPECT_TRUE(
      Eventually([&] { return !ReadFile(env_->state() + "/workspaces/ws-idle/closed").empty(); }));
  EXPECT_THAT(ReadFile(env_->state() + "/workspaces/ws-idle/closed"), HasSubstr("idle"));
  auto after = RunJob(stub_.get(), "ws-idle", {"true"});
  EXPECT_EQ(after.status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_TRUE(Eventually([] { return !AnyProcessOf(101207); }));
}

}  // namespace
}  // namespace kura::node
