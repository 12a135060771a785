// End to end: kura-node serve --disk-bytes gives each workspace's outputs and each home a file
// system of that size (node/workspace_disk.h), on real loop devices.

#include "node/workspace_disk.h"

#include <dirent.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "common/child_process.h"
#include "common/crypto.h"
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

constexpr uint64_t kCap = 32ull << 20;
constexpr char kTinyManifest[] =
    R"({"name": "tiny", "data_class": "anonymized", "tables": [{"name": "claims",
       "file": "claims.csv", "columns": [{"name": "patient_id", "role": "unit_id"}]}]})";

// The backing files of the attached loop devices whose file lies under `dir`: this test's own,
// whatever other tests running beside it attach.
std::multiset<std::string> LoopBackingFiles(const std::string& dir) {
  std::multiset<std::string> out;
  DIR* d = ::opendir("/sys/block");
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    if (!absl::StartsWith(e->d_name, "loop")) continue;
    std::string file = ReadFile(std::string("/sys/block/") + e->d_name + "/loop/backing_file");
    if (absl::StartsWith(file, dir + "/")) out.insert(file);
  }
  ::closedir(d);
  return out;
}

bool Mounted(const std::string& dir) {
  auto mounted = IsMountPoint(dir);
  return mounted.ok() && *mounted;
}

bool AnyBackedBy(const std::string& image) {
  for (const std::string& f : LoopBackingFiles("")) {
    if (absl::StartsWith(f, image)) return true;
  }
  return false;
}

uint64_t AllocatedBytes(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_blocks) * 512 : 0;
}

// Writes 4 MiB files into `dir` until a write fails or 48 MiB are written (a cap that does not
// hold must not fill the test machine's disk); prints the errno name and the bytes written.
std::string FillScript(const std::string& dir) {
  return "import errno, os\n"
         "total = 0\n"
         "err = 'none'\n"
         "try:\n"
         "    for i in range(12):\n"
         "        fd = os.open('" +
         dir +
         "/fill%d' % i, os.O_WRONLY | os.O_CREAT, 0o600)\n"
         "        for j in range(64):\n"
         "            total += os.write(fd, b'x' * 65536)\n"
         "        os.fsync(fd)\n"
         "        os.close(fd)\n"
         "except OSError as e:\n"
         "    err = errno.errorcode[e.errno]\n"
         "print(err, total)\n";
}

class WorkspaceDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "workspace disks need root (loop devices, mounts)";
    if (absl::Status usable = ProbeDiskImages(); !usable.ok()) {
      GTEST_SKIP() << "this machine cannot cap workspaces with disk images: " << usable;
    }
    env_ = std::make_unique<NodeTestEnv>();
    // A schema with a table: the export checker loads the workspace's schemas.
    tiny_ = env_->dir() + "/schemas/tiny";
    std::filesystem::create_directories(tiny_);
    testing::WriteFile(tiny_ + "/schema.json", kTinyManifest);
    testing::WriteFile(tiny_ + "/claims.csv", "patient_id\np1\n");
    ::chmod(tiny_.c_str(), 0755);
    env_->StartNode(flags_);
    stub_ = env_->GatewayStub();
  }

  void TearDown() override {
    if (env_ == nullptr) return;
    const std::string dir = env_->dir();
    env_.reset();  // stops the node, closes every workspace, unmounts what is left
    EXPECT_TRUE(Eventually([&] { return LoopBackingFiles(dir).empty(); }))
        << "a loop device was left attached";
  }

  void Open(const std::string& id, const std::string& user, uint32_t uid) {
    v1::NodeOpenWorkspaceRequest request = env_->OpenRequest(id, uid);
    request.set_user(user);
    request.mutable_schemas(0)->set_name("tiny");
    request.mutable_schemas(0)->set_host_path(tiny_);
    request.mutable_schemas(0)->set_manifest_sha256(Sha256Hex(kTinyManifest));
    grpc::ClientContext context;
    v1::Workspace ws;
    grpc::Status status = stub_->OpenWorkspace(&context, request, &ws);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  void Close(const std::string& id) {
    grpc::ClientContext context;
    v1::NodeCloseWorkspaceRequest request;
    request.set_workspace_id(id);
    v1::NodeCloseWorkspaceResponse response;
    grpc::Status status = stub_->CloseWorkspace(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  std::string Outputs(const std::string& id) {
    return env_->state() + "/workspaces/" + id + "/outputs";
  }
  std::string Home(const std::string& user) { return env_->state() + "/homes/cardio/" + user; }

  std::vector<std::string> flags_ = {"--disk-bytes", std::to_string(kCap)};
  std::string tiny_;
  std::unique_ptr<NodeTestEnv> env_;
  std::unique_ptr<v1::NodeAgent::Stub> stub_;
};

TEST_F(WorkspaceDiskTest, OutputsAndHomeStopNearTheCapAndSpareTheNodeAndOtherWorkspaces) {
  Open("ws-full", "alice", 1301);
  Open("ws-other", "bob", 1302);
  const std::string image = env_->state() + "/workspaces/ws-full/disk.img";
  const std::string home_image = env_->state() + "/home-disks/cardio/alice.img";
  EXPECT_TRUE(Mounted(Outputs("ws-full")));
  EXPECT_TRUE(Mounted(Home("alice")));
  EXPECT_TRUE(AnyBackedBy(image));

  auto kept = RunJob(stub_.get(), "ws-full",
                     {"sh", "-c", "echo kept > /outputs/kept.txt && echo mine > /home/alice/mine"});
  ASSERT_EQ(kept.exit_code, 0) << kept.err;
  for (const std::string& dir : {std::string("/outputs"), std::string("/home/alice")}) {
    auto fill = RunJob(stub_.get(), "ws-full", {"python3", "-c", FillScript(dir)});
    ASSERT_TRUE(fill.status.ok()) << fill.status.error_message();
    ASSERT_EQ(fill.exit_code, 0) << fill.err;
    std::vector<std::string> words = absl::StrSplit(absl::StripAsciiWhitespace(fill.out), ' ');
    ASSERT_EQ(words.size(), 2u) << fill.out;
    EXPECT_EQ(words[0], "ENOSPC") << dir << " was not capped: " << fill.out;
    const uint64_t written = std::stoull(words[1]);
    std::printf("%s: %s", dir.c_str(), fill.out.c_str());
    EXPECT_GT(written, kCap / 2) << dir;
    EXPECT_LE(written, kCap) << dir;
  }
  // The node's disk holds no more than the images: what the workspace wrote is inside them.
  EXPECT_LE(AllocatedBytes(image), kCap);
  EXPECT_LE(AllocatedBytes(home_image), kCap);
  EXPECT_GT(AllocatedBytes(image), kCap / 2);

  // What was written before the disk filled is intact, inside and from the node.
  auto read = RunJob(stub_.get(), "ws-full", {"cat", "/outputs/kept.txt", "/home/alice/mine"});
  EXPECT_EQ(read.out, "kept\nmine\n") << read.err;
  EXPECT_EQ(ReadFile(Outputs("ws-full") + "/kept.txt"), "kept\n");

  // Another workspace on the node writes as before.
  auto other = RunJob(stub_.get(), "ws-other",
                      {"sh", "-c",
                       "head -c 4194304 /dev/zero > /outputs/a && "
                       "head -c 4194304 /dev/zero > /home/bob/b && echo ok"});
  EXPECT_EQ(other.out, "ok\n") << other.err;

  // An export snapshot reads the capped outputs as it reads any.
  v1::NodeSnapshotRequest snapshot;
  snapshot.set_workspace_id("ws-full");
  snapshot.add_paths("kept.txt");
  v1::NodeSnapshotResponse snapped;
  {
    grpc::ClientContext context;
    grpc::Status status = stub_->SnapshotOutputs(&context, snapshot, &snapped);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  ASSERT_EQ(snapped.files_size(), 1);
  EXPECT_EQ(snapped.files(0).sha256(), Sha256Hex("kept\n"));
  EXPECT_EQ(ReadFile(env_->state() + "/snapshots/" + snapped.snapshot_id() + "/files/kept.txt"),
            "kept\n");

  // Closing unmounts its disks and frees their loop devices; bob's stay.
  Close("ws-full");
  EXPECT_FALSE(Mounted(Outputs("ws-full")));
  EXPECT_FALSE(Mounted(Home("alice")));
  EXPECT_FALSE(Mounted(env_->state() + "/workspaces/ws-full/ctl"));
  EXPECT_TRUE(Eventually([&] { return !AnyBackedBy(image) && !AnyBackedBy(home_image); }));
  EXPECT_TRUE(Mounted(Outputs("ws-other")));
  EXPECT_TRUE(Mounted(Home("bob")));

  // Opened again, it finds its outputs and the home as they were.
  Open("ws-full", "alice", 1301);
  auto again = RunJob(stub_.get(), "ws-full", {"cat", "/outputs/kept.txt", "/home/alice/mine"});
  EXPECT_EQ(again.out, "kept\nmine\n") << again.err;
  Close("ws-full");
  Close("ws-other");
  EXPECT_TRUE(Eventually([&] { return LoopBackingFiles(env_->dir()).empty(); }));
}

TEST_F(WorkspaceDiskTest, AnAgentRestartKeepsTheMountsOfRunningWorkspaces) {
  Open("ws-restart", "carol", 1303);
  auto wrote = RunJob(stub_.get(), "ws-restart", {"sh", "-c", "echo before > /outputs/f"});
  ASSERT_EQ(wrote.exit_code, 0) << wrote.err;
  const std::multiset<std::string> loops = LoopBackingFiles(env_->dir());
  EXPECT_EQ(loops.size(), 2u) << "its outputs and its home";

  env_->StopNode();
  env_->StartNode(flags_);
  stub_ = env_->GatewayStub();
  EXPECT_TRUE(Mounted(Outputs("ws-restart")));
  EXPECT_TRUE(Mounted(Home("carol")));
  auto after =
      RunJob(stub_.get(), "ws-restart",
             {"sh", "-c", "cat /outputs/f && echo after > /home/carol/g && cat /home/carol/g"});
  EXPECT_EQ(after.out, "before\nafter\n") << after.err;
  EXPECT_EQ(ReadFile(Home("carol") + "/g"), "after\n");  // the node sees the sandbox's file
  EXPECT_EQ(LoopBackingFiles(env_->dir()), loops) << "a restart attached an image a second time";
  Close("ws-restart");
  EXPECT_FALSE(Mounted(Outputs("ws-restart")));
}

TEST_F(WorkspaceDiskTest, AWorkspaceThatClosedItselfGivesItsDisksBackAtTheNextOpen) {
  v1::NodeOpenWorkspaceRequest request = env_->OpenRequest("ws-idle", 1304);
  request.set_user("dave");
  request.mutable_schemas(0)->set_name("tiny");
  request.mutable_schemas(0)->set_host_path(tiny_);
  request.mutable_schemas(0)->set_manifest_sha256(Sha256Hex(kTinyManifest));
  request.set_idle_timeout_seconds(1);
  {
    grpc::ClientContext context;
    v1::Workspace ws;
    (void)stub_->OpenWorkspace(&context, request, &ws);  // may close before the open returns
  }
  const std::string image = env_->state() + "/workspaces/ws-idle/disk.img";
  ASSERT_TRUE(
      Eventually([&] { return !ReadFile(env_->state() + "/workspaces/ws-idle/closed").empty(); }));
  Open("ws-next", "erin", 1305);
  EXPECT_FALSE(Mounted(Outputs("ws-idle")));
  EXPECT_FALSE(Mounted(Home("dave")));
  EXPECT_TRUE(Eventually([&] { return !AnyBackedBy(image); }));
  EXPECT_TRUE(Mounted(Outputs("ws-next")));
  Close("ws-next");
}

TEST_F(WorkspaceDiskTest, ACapThatCannotHoldRefusesToStart) {
  // Below the smallest disk: the node says so rather than serve without the cap.
  env_->StopNode();
  std::vector<std::string> args = {KURA_NODE_BINARY, "serve",        "--listen",
                                   "127.0.0.1:0",    "--certs",      env_->dir() + "/certs",
                                   "--state",        env_->state(),  "--run",
                                   env_->run(),      "--disk-bytes", "1048576"};
  auto child = ChildProcess::Spawn(args, {});
  ASSERT_TRUE(child.ok()) << child.status();
  // A node that serves anyway never ends: the owner kills it when the test gives up.
  pollfd ended{child->pidfd(), POLLIN, 0};
  ASSERT_EQ(::poll(&ended, 1, 30000), 1) << "kura-node served with a cap it cannot enforce";
  auto status = child->Wait();
  ASSERT_TRUE(status.ok());
  EXPECT_NE(status->ShellCode(), 0);
}

}  // namespace
}  // namespace kura::node
