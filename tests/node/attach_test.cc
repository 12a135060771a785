// Interactive sessions: PTY bytes both ways, resizes, exit codes, detach and reattach (also
// across a restart of kura-node).

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>

#include <mutex>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/wire.h"
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

TEST_F(AttachTest, BurstOfOutputArrivesWholeAndInOrderBeforeTheExitCode) {
  Open("ws-burst", 1304);
  Session s(stub_.get(), "ws-burst", {"/bin/sh", "-c", "seq 1 60000; exit 7"});
  EXPECT_EQ(s.AwaitExit(), 7);
  std::string expected;
  for (int i = 1; i <= 60000; ++i) absl::StrAppend(&expected, i, "\r\n");
  EXPECT_TRUE(s.output() == expected) << "got " << s.output().size() << " bytes, expected "
                                      << expected.size();
}

TEST_F(AttachTest, AttachToAnUnknownWorkspaceIsNotFound) {
  Session s(stub_.get(), "ws-none", {});
  EXPECT_EQ(s.AwaitExit(), -1);
  EXPECT_EQ(s.Finish().error_code(), grpc::StatusCode::NOT_FOUND);
}

// ReadCoalesced, which cuts terminal output into Attach messages.

struct PipeEnds {
  UniqueFd read;
  UniqueFd write;
};

PipeEnds MakeBigPipe() {
  int fds[2];
  EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  EXPECT_GE(::fcntl(fds[1], F_SETPIPE_SZ, 1 << 20), 1 << 20);
  return {UniqueFd(fds[0]), UniqueFd(fds[1])};
}

std::string Pattern(size_t size) {
  std::string data(size, '\0');
  for (size_t i = 0; i < size; ++i) data[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return data;
}

TEST(ReadCoalescedTest, LoneKeystrokeEchoIsReturnedAfterOneRead) {
  PipeEnds pipe = MakeBigPipe();
  ASSERT_EQ(::write(pipe.write.get(), "k", 1), 1);
  std::string out = "x";
  // Returns without waiting for more (the write end stays open, so a second blocking read
  // would hang here).
  EXPECT_EQ(ReadCoalesced(pipe.read.get(), 64 << 10, &out), 1);
  EXPECT_EQ(out, "xk");
}

TEST(ReadCoalescedTest, ReadyBytesComeInMessagesOfTheLimitInOrder) {
  PipeEnds pipe = MakeBigPipe();
  const std::string data = Pattern(200 << 10);
  ASSERT_EQ(::write(pipe.write.get(), data.data(), data.size()),
            static_cast<ssize_t>(data.size()));
  pipe.write.Reset();
  std::string got;
  std::vector<ssize_t> sizes;
  ssize_t n;
  while ((n = ReadCoalesced(pipe.read.get(), 64 << 10, &got)) > 0) sizes.push_back(n);
  EXPECT_EQ(n, 0);
  EXPECT_THAT(sizes, ::testing::ElementsAre(64 << 10, 64 << 10, 64 << 10, 8 << 10));
  EXPECT_TRUE(got == data);
}

TEST(ReadCoalescedTest, PtyBurstLargerThanTheLimitArrivesWholeAndInOrder) {
  UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
  ASSERT_TRUE(master.valid());
  ASSERT_EQ(::grantpt(master.get()), 0);
  ASSERT_EQ(::unlockpt(master.get()), 0);
  UniqueFd slave(::open(::ptsname(master.get()), O_RDWR | O_NOCTTY | O_CLOEXEC));
  ASSERT_TRUE(slave.valid());
  termios raw{};
  ASSERT_EQ(::tcgetattr(slave.get(), &raw), 0);
  ::cfmakeraw(&raw);
  ASSERT_EQ(::tcsetattr(slave.get(), TCSANOW, &raw), 0);
  const std::string data = Pattern(1 << 20);
  std::thread writer([&] {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = ::write(slave.get(), data.data() + done, data.size() - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
  });
  constexpr size_t kLimit = 64 << 10;
  std::string got;
  while (got.size() < data.size()) {
    pollfd p{master.get(), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 10000), 1) << "stalled after " << got.size() << " bytes";
    ssize_t n = ReadCoalesced(master.get(), kLimit, &got);
    ASSERT_GT(n, 0);
    ASSERT_LE(static_cast<size_t>(n), kLimit);
  }
  writer.join();
  EXPECT_TRUE(got == data);
}

}  // namespace
}  // namespace kura::node
