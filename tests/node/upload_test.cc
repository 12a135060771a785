// Uploads: code into the project home, nothing else and nowhere else.

#include "node/upload.h"

#include <unistd.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/status_matchers.h"
#include "tests/node/node_test_env.h"

namespace kura::node {
namespace {

using ::kura::node::testing::NodeTestEnv;
using ::kura::node::testing::ReadFile;
using ::kura::node::testing::RunJob;
using ::kura::testing::IsOk;
using ::kura::testing::StatusIs;
using ::testing::HasSubstr;

TEST(UploadPolicyTest, PathsAndSuffixes) {
  struct Case {
    const char* path;
    bool ok;
  } cases[] = {
      {"analysis.py", true},    {"src/model.R", true},   {"nb/explore.ipynb", true},
      {"queries/q1.sql", true}, {"README.md", true},     {"run.sh", true},
      {"../x.py", false},       {"a/../../x.py", false}, {"/etc/x.py", false},
      {"./x.py", false},        {"a//x.py", false},      {"", false},
      {"tool", false},          {"a.out", false},        {"data.csv", false},
      {"lib.so", false},        {".py", false},          {"x.py/", false},
      {"a\nb.py", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(CheckUploadPath(c.path).ok(), c.ok) << c.path;
  }
}

TEST(UploadPolicyTest, OnlyText) {
  EXPECT_THAT(CheckUploadContents("print('hi')\n# Grüße\n"), IsOk());
  EXPECT_THAT(CheckUploadContents(std::string("\x7f"
                                              "ELF\x02\x01\x01\0\0\0",
                                              10)),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not text")));
  EXPECT_FALSE(CheckUploadContents(std::string("a\0b", 3)).ok());
  EXPECT_FALSE(CheckUploadContents("\xff\xfe").ok());
}

class UploadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "workspaces need root (namespaces, mounts, cgroups)";
    env_ = std::make_unique<NodeTestEnv>();
    env_->StartNode();
    stub_ = env_->GatewayStub();
    grpc::ClientContext context;
    v1::Workspace ws;
    grpc::Status status = stub_->OpenWorkspace(&context, env_->OpenRequest("ws-up", 1401), &ws);
    ASSERT_TRUE(status.ok()) << status.error_message();
    home_ = env_->state() + "/homes/cardio/alice";
  }

  grpc::Status Upload(const std::string& path, const std::string& contents,
                      v1::UploadResult* result, bool announce_size = true) {
    grpc::ClientContext context;
    auto writer = stub_->Upload(&context, result);
    v1::UploadChunk start;
    start.mutable_start()->set_workspace_id("ws-up");
    start.mutable_start()->set_path(path);
    if (announce_size) start.mutable_start()->set_size(contents.size());
    writer->Write(start);
    for (size_t at = 0; at < contents.size(); at += 1 << 20) {
      v1::UploadChunk data;
      data.set_data(contents.substr(at, 1 << 20));
      if (!writer->Write(data)) break;
    }
    writer->WritesDone();
    return writer->Finish();
  }

  std::unique_ptr<NodeTestEnv> env_;
  std::unique_ptr<v1::NodeAgent::Stub> stub_;
  std::string home_;
};

TEST_F(UploadTest, ScriptLandsInTheHomeAndRunsInTheWorkspace) {
  const std::string script = "print('uploaded', 6 * 7)\n";
  v1::UploadResult result;
  grpc::Status status = Upload("code/hello.py", script, &result);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(result.sha256(), Sha256Hex(script));
  EXPECT_EQ(result.size(), script.size());
  EXPECT_EQ(ReadFile(home_ + "/code/hello.py"), script);
  auto run = RunJob(stub_.get(), "ws-up", {"python3", "code/hello.py"});
  EXPECT_EQ(run.out, "uploaded 42\n") << run.err;
  // The workspace's user owns it and may edit it.
  auto edit = RunJob(stub_.get(), "ws-up", {"sh", "-c", "echo '# edited' >> code/hello.py"});
  EXPECT_EQ(edit.exit_code, 0) << edit.err;
}

TEST_F(UploadTest, RefusesEscapesBinariesAndOversizeFiles) {
  // A symlink planted by the workspace's own code, pointing out of the home.
  auto plant =
      RunJob(stub_.get(), "ws-up", {"sh", "-c", "ln -s /tmp link && ln -s /etc/passwd file.py"});
  ASSERT_EQ(plant.exit_code, 0) << plant.err;
  struct Case {
    const char* what;
    std::string path;
    std::string contents;
  } cases[] = {
      {"parent", "../x.py", "print(1)\n"},
      {"absolute", "/etc/x.py", "print(1)\n"},
      {"through a symlinked directory", "link/x.py", "print(1)\n"},
      {"onto a symlink", "file.py", "print(1)\n"},
      {"an ELF under a script's name", "tool.py",
       std::string("\x7f"
                   "ELF\x02\x01\x01\0",
                   8)},
      {"a program", "tool", "#!/bin/sh\n"},
      {"data", "extract.csv", "a,b\n1,2\n"},
      {"oversize", "big.txt", std::string((16 << 20) + 1, 'a')},
  };
  for (const Case& c : cases) {
    v1::UploadResult result;
    grpc::Status status = Upload(c.path, c.contents, &result);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
        << c.what << ": " << status.error_message();
  }
  // Without an announced size the limit holds as the bytes arrive.
  v1::UploadResult result;
  EXPECT_EQ(Upload("stream.txt", std::string((16 << 20) + 1, 'a'), &result, false).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_FALSE(std::filesystem::exists(home_ + "/stream.txt"));
  EXPECT_FALSE(std::filesystem::exists(env_->dir() + "/x.py"));
  EXPECT_FALSE(std::filesystem::exists(home_ + "/tool.py"));
  EXPECT_FALSE(std::filesystem::exists(home_ + "/big.txt"));
  EXPECT_TRUE(std::filesystem::is_symlink(home_ + "/file.py"));
}

}  // namespace
}  // namespace kura::node
