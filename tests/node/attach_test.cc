// Interactive sessions: PTY bytes both ways, resizes, exit codes, detach and reattach (also
// across a restart of kura-node).

#include <signal.h>
#include <unistd.h>

#include <mutex>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/node/node_test_env.h"

namespace kura::node {
namespace {

using ::kura::node::testing::Eventually;
using ::kura::node::testing::NodeTestEnv;

// One Attach stream as the gateway drives it; a thread collects what the terminal prints.
class Session {
 public:
  Session(v1::NodeAgent::Stub* stub, const std::string& workspace,
          const std::vector<std::string>& argv, uint32_t rows = 24, uint32_t cols = 80) {
    stream_ = stub->Attach(&context_);
    v1::AttachInput start;
    start.mutable_start()->set_workspace_id(workspace);
    start.mutable_start()->mutable_size()->set_rows(rows);
    start.mutable_start()->mutable_size()->set_cols(cols);
    start.mutable_start()->add_env("TERM=dumb");
    for (const std::string& a : argv) start.mutable_start()->add_argv(a);
    stream_->Write(start);
    reader_ = std::thread([this] {
      v1::AttachOutput out;
      while (stream_->Read(&out)) {
        std::lock_guard<std::mutex> lock(mu_);
        if (out.has_data()) output_ += out.data();
        if (out.has_exit_code()) exit_code_ = out.exit_code();
      }
      std::lock_guard<std::mutex> lock(mu_);
      ended_ = true;
    });
  }
  ~Session() { Finish(); }

  void Type(const std::string& bytes) {
    v1::AttachInput in;
    in.set_stdin(bytes);
    stream_->Write(in);
  }
  void Resize(uint32_t rows, uint32_t cols) {
    v1::AttachInput in;
    in.mutable_resize()->set_rows(rows);
    in.mutable_resize()->set_cols(cols);
    stream_->Write(in);
  }
  void Signal(int sig) {
    v1::AttachInput in;
    in.set_signal(sig);
    stream_->Write(in);
  }
  bool AwaitOutput(const std::string& text) {
    return Eventually([&] {
      std::lock_guard<std::mutex> lock(mu_);
      return absl::StrContains(output_, text);
    });
  }
  std::string output() {
    std::lock_guard<std::mutex> lock(mu_);
    return output_;
  }
  // Waits for the exit code or the end of the stream; returns the code (-1 without one). The
  // gateway half-closes after the exit code (Finish), and the node then ends the call with OK.
  int AwaitExit() {
    EXPECT_TRUE(Eventually([&] {
      std::lock_guard<std::mutex> lock(mu_);
      return ended_ || exit_code_ != -1;
    }));
    std::lock_guard<std::mutex> lock(mu_);
    return exit_code_;
  }
  // Half-closes (a detach when the process still runs) and collects the status.
  grpc::Status Finish() {
    if (finished_) return status_;
    finished_ = true;
    stream_->WritesDone();
    reader_.join();
    status_ = stream_->Finish();
    return status_;
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<v1::AttachInput, v1::AttachOutput>> stream_;
  std::thread reader_;
  std::mutex mu_;
  std::string output_;
  int exit_code_ = -1;
  bool ended_ = false;
  bool finished_ = false;
  grpc::Status status_;
};

class AttachTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "workspaces need root (namespaces, mounts, cgroups)";
    env_ = std::make_unique<NodeTestEnv>();
    env_->StartNode();
    stub_ = env_->GatewayStub();
  }

  void Open(const std::string& id, uint32_t uid) {
    grpc::ClientContext context;
    v1::Workspace ws;
    grpc::Status status = stub_->OpenWorkspace(&context, env_->OpenRequest(id, uid), &ws);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  std::unique_ptr<NodeTestEnv> env_;
  std::unique_ptr<v1::NodeAgent::Stub> stub_;
};

TEST_F(AttachTest, ShellThroughThePtyWithResizeAndExitCode) {
  Open("ws-tty", 1301);
  Session shell(stub_.get(), "ws-tty", {"/bin/sh"});
  shell.Type("tty; echo h''i\n");
  ASSERT_TRUE(shell.AwaitOutput("/dev/pts/")) << shell.output();
  ASSERT_TRUE(shell.AwaitOutput("hi\r\n")) << shell.output();
  shell.Type("stty size\n");
  ASSERT_TRUE(shell.AwaitOutput("24 80")) << shell.output();
  shell.Resize(33, 101);
  shell.Type("stty size\n");
  ASSERT_TRUE(shell.AwaitOutput("33 101")) << shell.output();
  shell.Type("exit 3\n");
  EXPECT_EQ(shell.AwaitExit(), 3);
  EXPECT_TRUE(shell.Finish().ok());
}

TEST_F(AttachTest, InterruptReachesTheForegroundProcess) {
  Open("ws-int", 1302);
  const std::vector<std::string> waiter = {
      "/bin/sh", "-c", "trap 'echo got-int; exit 0' INT; echo ready; while :; do sleep 1; done"};
  // The byte Ctrl-C sends in raw mode...
  Session raw(stub_.get(), "ws-int", waiter);
  ASSERT_TRUE(raw.AwaitOutput("ready")) << raw.output();
  raw.Type("\x03");
  ASSERT_TRUE(raw.AwaitOutput("got-int")) << raw.output();
  EXPECT_EQ(raw.AwaitExit(), 0);
  EXPECT_TRUE(raw.Finish().ok());
  // ...and the signal field a non-raw client uses.
  Session cooked(stub_.get(), "ws-int", waiter);
  ASSERT_TRUE(cooked.AwaitOutput("ready")) << cooked.output();
  cooked.Signal(SIGINT);
  ASSERT_TRUE(cooked.AwaitOutput("got-int")) << cooked.output();
  EXPECT_EQ(cooked.AwaitExit(), 0);
  EXPECT_TRUE(cooked.Finish().ok());
}

TEST_F(AttachTest, ShellSurvivesDetachAndAgentRestart) {
  Open("ws-keep", 1303);
  {
    Session first(stub_.get(), "ws-keep", {});
    first.Type("KURA_MARK=4''2; echo set-$KURA_MARK\n");
    ASSERT_TRUE(first.AwaitOutput("set-42")) << first.output();
    EXPECT_TRUE(first.Finish().ok());  // detach: the shell keeps running
  }
  {
    Session second(stub_.get(), "ws-keep", {});
    second.Type("echo same-$KURA_MARK\n");
    ASSERT_TRUE(second.AwaitOutput("same-42")) << second.output();
  }
  env_->StopNode();
  env_->StartNode();
  stub_ = env_->GatewayStub();
  grpc::ClientContext context;
  v1::Inventory inventory;
  ASSERT_TRUE(stub_->GetInventory(&context, {}, &inventory).ok());
  ASSERT_EQ(inventory.workspaces_size(), 1);
  EXPECT_EQ(inventory.workspaces(0).id(), "ws-keep");
  Session third(stub_.get(), "ws-keep", {});
  third.Type("echo still-$KURA_MARK\n");
  ASSERT_TRUE(third.AwaitOutput("still-42")) << third.output();
  third.Type("exit 5\n");
  EXPECT_EQ(third.AwaitExit(), 5);
}

TEST_F(AttachTest, AttachToAnUnknownWorkspaceIsNotFound) {
  Session s(stub_.get(), "ws-none", {});
  EXPECT_EQ(s.AwaitExit(), -1);
  EXPECT_EQ(s.Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

}  // namespace
}  // namespace kura::node
