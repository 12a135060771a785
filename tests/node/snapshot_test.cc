// Export snapshots: only plain files of /outputs leave the workspace, copied out of its reach,
// and the checker runs on the copies.

#include "node/snapshot.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/common/status_matchers.h"
#include "tests/node/node_test_env.h"

namespace kura::node {
namespace {

using ::kura::node::testing::NodeTestEnv;
using ::kura::node::testing::ReadFile;
using ::kura::node::testing::WriteFile;
using ::kura::testing::IsOk;
using ::kura::testing::StatusIs;
using ::testing::HasSubstr;

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kura-snap-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    outputs_ = dir_ + "/outputs";
    std::filesystem::create_directories(outputs_ + "/tables");
    std::filesystem::create_directories(dir_ + "/data");
    WriteFile(dir_ + "/data/secret.csv", "patient,diagnosis\np1,C50\n");
    WriteFile(outputs_ + "/t.csv", "region,value\nA,12\nB,3\n");
    WriteFile(outputs_ + "/tables/u.csv", "x,y\n1,2\n");
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  absl::StatusOr<OutputSnapshot> Snapshot(const std::vector<std::string>& paths) {
    return SnapshotOutputFiles(outputs_, dir_ + "/snapshots", paths, policy_, limits_);
  }

  std::string dir_, outputs_;
  disclosure::Policy policy_;
  SnapshotLimits limits_;
};

TEST_F(SnapshotTest, CopiesPlainFilesReadOnlyAndHashed) {
  auto snap = Snapshot({"t.csv", "tables/u.csv"});
  ASSERT_THAT(snap.status(), IsOk());
  ASSERT_EQ(snap->files.size(), 2u);
  EXPECT_EQ(snap->files[0].path(), "t.csv");
  EXPECT_EQ(snap->files[0].sha256(), Sha256Hex("region,value\nA,12\nB,3\n"));
  EXPECT_EQ(snap->files[1].size(), 8u);
  EXPECT_EQ(snap->dir, absl::StrCat(dir_, "/snapshots/", snap->id, "/files"));
  struct stat st;
  ASSERT_EQ(::stat((snap->dir + "/t.csv").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0400u);
  EXPECT_EQ(st.st_uid, ::geteuid());
  EXPECT_EQ(ReadFile(snap->dir + "/tables/u.csv"), "x,y\n1,2\n");
  // Changing the workspace's file afterwards changes nothing in the snapshot.
  WriteFile(outputs_ + "/t.csv", "region,value\nA,1\n");
  EXPECT_EQ(ReadFile(snap->dir + "/t.csv"), "region,value\nA,12\nB,3\n");
  // A new snapshot of changed content is a different one.
  auto again = Snapshot({"t.csv", "tables/u.csv"});
  ASSERT_THAT(again.status(), IsOk());
  EXPECT_NE(again->id, snap->id);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/snapshots/.staging"));
  // A release reads the snapshot's copy, never the workspace's.
  auto bytes = ReadSnapshotFile(dir_ + "/snapshots", snap->id, "t.csv", 1 << 20);
  ASSERT_THAT(bytes.status(), IsOk());
  EXPECT_EQ(*bytes, "region,value\nA,12\nB,3\n");
  EXPECT_THAT(ReadSnapshotFile(dir_ + "/snapshots", snap->id, "../t.csv", 1 << 20).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ReadSnapshotFile(dir_ + "/snapshots", "../../etc", "passwd", 1 << 20).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ReadSnapshotFile(dir_ + "/snapshots", std::string(64, 'f'), "t.csv", 1 << 20)
                  .status(),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(ReadSnapshotFile(dir_ + "/snapshots", snap->id, "t.csv", 3).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("larger")));
}

TEST_F(SnapshotTest, RefusesWhatIsNotAPlainFileOfOutputs) {
  ASSERT_EQ(::symlink((dir_ + "/data/secret.csv").c_str(), (outputs_ + "/link.csv").c_str()), 0);
  ASSERT_EQ(::symlink(dir_.c_str(), (outputs_ + "/up").c_str()), 0);
  ASSERT_EQ(::link((dir_ + "/data/secret.csv").c_str(), (outputs_ + "/hard.csv").c_str()), 0);
  ASSERT_EQ(::mkfifo((outputs_ + "/fifo.csv").c_str(), 0644), 0);
  std::filesystem::create_directories(outputs_ + "/dir.csv");
  WriteFile(outputs_ + "/big.csv", std::string(2048, 'x'));
  WriteFile(outputs_ + "/tool.exe", "MZ");
  WriteFile(outputs_ + "/noext", "x");
  policy_.max_file_bytes = 1024;
  struct Case {
    std::string path;
    absl::StatusCode code;
    std::string reason;
  } cases[] = {
      {"link.csv", absl::StatusCode::kInvalidArgument, "a symlink"},
      {"up/data/secret.csv", absl::StatusCode::kInvalidArgument, "a symlink"},
      {"hard.csv", absl::StatusCode::kInvalidArgument, "a hard link"},
      {"fifo.csv", absl::StatusCode::kInvalidArgument, "a FIFO"},
      {"dir.csv", absl::StatusCode::kInvalidArgument, "a directory"},
      {"big.csv", absl::StatusCode::kInvalidArgument, "larger than the cap (2048 > 1024 bytes)"},
      {"tool.exe", absl::StatusCode::kInvalidArgument, "type not allowed (\"exe\""},
      {"noext", absl::StatusCode::kInvalidArgument, "type not allowed"},
      {"../data/secret.csv", absl::StatusCode::kInvalidArgument, "leaves /outputs"},
      {"tables/../../data/secret.csv", absl::StatusCode::kInvalidArgument, "leaves /outputs"},
      {dir_ + "/data/secret.csv", absl::StatusCode::kInvalidArgument, "leaves /outputs"},
      {"./t.csv", absl::StatusCode::kInvalidArgument, "not a plain relative path"},
      {"missing.csv", absl::StatusCode::kNotFound, "no such file"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(Snapshot({c.path}).status(), StatusIs(c.code, HasSubstr(c.reason))) << c.path;
  }
  EXPECT_THAT(Snapshot({"t.csv", "t.csv"}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("given twice")));
  EXPECT_THAT(Snapshot({}).status(), StatusIs(absl::StatusCode::kInvalidArgument));
  // One bad file refuses the whole request and leaves nothing behind.
  EXPECT_FALSE(Snapshot({"t.csv", "link.csv"}).ok());
  std::error_code ec;
  EXPECT_TRUE(std::filesystem::is_empty(dir_ + "/snapshots", ec));
}

TEST_F(SnapshotTest, RefusesDevices) {
  if (::geteuid() != 0) GTEST_SKIP() << "mknod needs root";
  ASSERT_EQ(::mknod((outputs_ + "/null.csv").c_str(), S_IFCHR | 0644, makedev(1, 3)), 0);
  EXPECT_THAT(Snapshot({"null.csv"}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("a device")));
}

TEST_F(SnapshotTest, CapsTheRequestAsAWhole) {
  limits_.max_total_bytes = 29;  // 22 + 8 bytes
  EXPECT_THAT(Snapshot({"t.csv", "tables/u.csv"}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("in all")));
  limits_ = {};
  limits_.max_files = 1;
  EXPECT_THAT(Snapshot({"t.csv", "tables/u.csv"}).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("too many files")));
}

TEST(OutputPathTest, Paths) {
  EXPECT_THAT(CheckOutputPath("a/b.csv"), IsOk());
  for (const char* bad : {"", "/etc/passwd", "..", "a/../b", "a//b", "a/", "./a", "a\nb"}) {
    EXPECT_FALSE(CheckOutputPath(bad).ok()) << bad;
  }
  EXPECT_FALSE(CheckOutputPath(std::string(600, 'a')).ok());
}

// A schema with one table: 12 patients in region A, 3 in region B.
class SnapshotCheckTest : public SnapshotTest {
 protected:
  void SetUp() override {
    SnapshotTest::SetUp();
    schema_dir_ = dir_ + "/schemas/tiny";
    std::filesystem::create_directories(schema_dir_);
    manifest_ =
        R"({"name": "tiny", "data_class": "pseudonymized", "tables": [{"name": "claims",
           "file": "claims.csv", "columns": [{"name": "patient_id", "role": "unit_id"},
           {"name": "region", "role": "quasi_identifier"}]}]})";
    WriteFile(schema_dir_ + "/schema.json", manifest_);
    std::string csv = "patient_id,region\n";
    for (int i = 0; i < 12; ++i) csv += absl::StrCat("a", i, ",A\n");
    for (int i = 0; i < 3; ++i) csv += absl::StrCat("b", i, ",B\n");
    WriteFile(schema_dir_ + "/claims.csv", csv);
    v1::MountSchema m;
    m.set_name("tiny");
    m.set_host_path(schema_dir_);
    m.set_manifest_sha256(Sha256Hex(manifest_));
    schemas_.push_back(m);
  }

  v1::TableSpecDocument Spec() {
    v1::TableSpecDocument doc;
    doc.set_name("t.spec.json");
    doc.set_json(R"({"schema": "tiny", "table": "claims", "output": "t.csv",
                     "rows": ["region"], "statistic": "count"})");
    return doc;
  }

  std::string schema_dir_, manifest_;
  std::vector<v1::MountSchema> schemas_;
};

TEST_F(SnapshotCheckTest, VerifiedWhereASpecIsGiven) {
  auto snap = Snapshot({"t.csv", "tables/u.csv"});
  ASSERT_THAT(snap.status(), IsOk());
  std::vector<v1::SchemaIdentity> ids;
  auto report = CheckSnapshot(*snap, schemas_, {Spec()}, policy_, &ids);
  ASSERT_THAT(report.status(), IsOk());
  ASSERT_EQ(report->files.size(), 2u);
  EXPECT_EQ(report->files[0].path, "t.csv");
  EXPECT_TRUE(report->files[0].verified);
  EXPECT_EQ(report->files[0].spec, "t.spec.json");
  EXPECT_EQ(report->files[0].verdict, disclosure::Verdict::kFail);  // B has 3 patients
  EXPECT_FALSE(report->files[1].verified);
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_EQ(ids[0].data_class(), "pseudonymized");
  EXPECT_EQ(ids[0].manifest_sha256(), Sha256Hex(manifest_));
}

TEST_F(SnapshotCheckTest, RefusesAChangedSchemaAndAForeignSpec) {
  auto snap = Snapshot({"t.csv"});
  ASSERT_THAT(snap.status(), IsOk());
  v1::TableSpecDocument foreign = Spec();
  foreign.set_json(R"({"schema": "other", "table": "claims", "output": "t.csv",
                       "rows": ["region"], "statistic": "count"})");
  EXPECT_THAT(CheckSnapshot(*snap, schemas_, {foreign}, policy_, nullptr).status(),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not one of the workspace")));
  WriteFile(schema_dir_ + "/schema.json", manifest_ + " ");
  EXPECT_THAT(CheckSnapshot(*snap, schemas_, {Spec()}, policy_, nullptr).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("changed")));
}

// Through the agent: the gateway's call snapshots a running workspace's outputs.
TEST(SnapshotRpcTest, SnapshotsAndChecksAWorkspacesOutputs) {
  if (::geteuid() != 0) GTEST_SKIP() << "workspaces need root (namespaces, mounts, cgroups)";
  NodeTestEnv env;
  env.StartNode();
  auto stub = env.GatewayStub();
  // A schema with a table (the bed's own has none, and the checker loads it).
  std::string tiny = env.dir() + "/schemas/tiny";
  std::filesystem::create_directories(tiny);
  const std::string manifest =
      R"({"name": "tiny", "data_class": "anonymized", "tables": [{"name": "claims",
         "file": "claims.csv", "columns": [{"name": "patient_id", "role": "unit_id"}]}]})";
  WriteFile(tiny + "/schema.json", manifest);
  WriteFile(tiny + "/claims.csv", "patient_id\np1\n");
  ::chmod(tiny.c_str(), 0755);
  v1::NodeOpenWorkspaceRequest open = env.OpenRequest("ws-snap", 1402);
  open.mutable_schemas(0)->set_name("tiny");
  open.mutable_schemas(0)->set_host_path(tiny);
  open.mutable_schemas(0)->set_manifest_sha256(Sha256Hex(manifest));
  {
    grpc::ClientContext context;
    v1::Workspace ws;
    grpc::Status status = stub->OpenWorkspace(&context, open, &ws);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  std::string outputs = env.state() + "/workspaces/ws-snap/outputs";
  WriteFile(outputs + "/means.csv", "group,mean\nA,1.5\n");
  ASSERT_EQ(::symlink((env.schema_dir() + "/claims.csv").c_str(), (outputs + "/l.csv").c_str()),
            0);
  v1::NodeSnapshotRequest request;
  request.set_workspace_id("ws-snap");
  request.add_paths("means.csv");
  v1::NodeSnapshotResponse response;
  {
    grpc::ClientContext context;
    grpc::Status status = stub->SnapshotOutputs(&context, request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  ASSERT_EQ(response.files_size(), 1);
  EXPECT_EQ(response.files(0).sha256(), Sha256Hex("group,mean\nA,1.5\n"));
  EXPECT_EQ(response.policy_name(), "acro-default");
  EXPECT_EQ(response.checker_version(), disclosure::kCheckerVersion);
  ASSERT_EQ(response.schemas_size(), 1);
  EXPECT_EQ(response.schemas(0).manifest_sha256(), Sha256Hex(manifest));
  auto report = nlohmann::json::parse(response.report_json());
  EXPECT_EQ(report["files"][0]["path"], "means.csv");
  EXPECT_EQ(ReadFile(env.state() + "/snapshots/" + response.snapshot_id() + "/files/means.csv"),
            "group,mean\nA,1.5\n");

  {
    // The snapshot outlives the agent: a restarted kura-node still serves it.
    env.StopNode();
    env.StartNode();
    stub = env.GatewayStub();
    v1::NodeReadSnapshotFileRequest read;
    read.set_snapshot_id(response.snapshot_id());
    read.set_path("means.csv");
    v1::NodeSnapshotFile file;
    grpc::ClientContext context;
    ASSERT_TRUE(stub->ReadSnapshotFile(&context, read, &file).ok());
    EXPECT_EQ(file.data(), "group,mean\nA,1.5\n");
    EXPECT_EQ(file.sha256(), response.files(0).sha256());
  }
  request.set_paths(0, "l.csv");
  grpc::ClientContext context;
  grpc::Status refused = stub->SnapshotOutputs(&context, request, &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(refused.error_message(), HasSubstr("symlink"));
  // A terminal's certificate is refused as for every NodeAgent call.
  auto terminal = env.Stub(env.terminal());
  grpc::ClientContext tc;
  EXPECT_EQ(terminal->SnapshotOutputs(&tc, request, &response).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace
}  // namespace kura::node
