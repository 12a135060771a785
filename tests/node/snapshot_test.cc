// Export snapshots: only plain files of /outputs leave the workspace, copied out of its reach,
// and the checker runs on the copies.

#include "node/snapshot.h"

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/crypto.h"
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
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::StartsWith;

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

  // The whole of a snapshot's file, read in chunks of 7 bytes; nullopt when it cannot be.
  std::optional<std::string> ReadWhole(const std::string& id, const std::string& path) {
    auto file = OpenSnapshotFile(dir_ + "/snapshots", id, path);
    if (!file.ok()) return std::nullopt;
    std::string whole, chunk;
    for (int64_t offset = 0; offset < file->size; offset += chunk.size()) {
      if (!ReadSnapshotChunk(*file, offset, 7, &chunk).ok() || chunk.empty()) return std::nullopt;
      whole += chunk;
    }
    return whole;
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
  EXPECT_THAT(ReadWhole(snap->id, "t.csv"),
              ::testing::Optional(std::string("region,value\nA,12\nB,3\n")));
}

TEST_F(SnapshotTest, OpensAFileOfASnapshotAndReadsItInChunks) {
  const std::string content = "region,value\nA,12\nB,3\n";  // 22 bytes
  auto snap = Snapshot({"t.csv", "tables/u.csv"});
  ASSERT_THAT(snap.status(), IsOk());
  auto file = OpenSnapshotFile(dir_ + "/snapshots", snap->id, "t.csv");
  ASSERT_THAT(file.status(), IsOk());
  EXPECT_EQ(file->size, 22);
  struct Case {
    int64_t offset;
    size_t max;
    std::string bytes;
  } cases[] = {
      {0, 5, "regio"},       {5, 8, "n,value\n"}, {20, 5, "3\n"},
      {0, 1 << 20, content}, {22, 5, ""},         {40, 5, ""},
  };
  std::string chunk = "left over";
  for (const Case& c : cases) {
    ASSERT_THAT(ReadSnapshotChunk(*file, c.offset, c.max, &chunk), IsOk()) << c.offset;
    EXPECT_EQ(chunk, c.bytes) << c.offset << "+" << c.max;
  }
  EXPECT_THAT(ReadWhole(snap->id, "tables/u.csv"), ::testing::Optional(std::string("x,y\n1,2\n")));
  // A sealed file that shrank after it was opened was damaged: said, never padded.
  const std::string copy = snap->dir + "/t.csv";
  ASSERT_EQ(::chmod(copy.c_str(), 0600), 0);
  ASSERT_EQ(::truncate(copy.c_str(), 10), 0);
  EXPECT_THAT(ReadSnapshotChunk(*file, 0, 1 << 20, &chunk),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr("ends at 10 of 22 bytes")));
}

TEST_F(SnapshotTest, OpensOnlyPlainFilesOfAnExistingSnapshot) {
  auto snap = Snapshot({"t.csv", "tables/u.csv"});
  ASSERT_THAT(snap.status(), IsOk());
  const std::string snapshots = dir_ + "/snapshots";
  struct Case {
    std::string id;
    std::string path;
    absl::StatusCode code;
    std::string reason;
  } cases[] = {
      {snap->id, "../t.csv", absl::StatusCode::kInvalidArgument, "leaves /outputs"},
      {snap->id, "/etc/passwd", absl::StatusCode::kInvalidArgument, "leaves /outputs"},
      {snap->id, "tables", absl::StatusCode::kInvalidArgument, "a directory"},
      {snap->id, "missing.csv", absl::StatusCode::kNotFound, "no such file"},
      {"../../etc", "passwd", absl::StatusCode::kInvalidArgument, "64 lowercase hex"},
      {std::string(64, 'F'), "t.csv", absl::StatusCode::kInvalidArgument, "64 lowercase hex"},
      {std::string(64, 'f'), "t.csv", absl::StatusCode::kNotFound, "no snapshot"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(OpenSnapshotFile(snapshots, c.id, c.path).status(),
                StatusIs(c.code, HasSubstr(c.reason)))
        << c.id << " " << c.path;
  }
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

// ReadSnapshotFile through the agent: the messages as they came and how the call ended.
struct StreamedFile {
  grpc::Status status;
  std::vector<v1::NodeSnapshotFile> chunks;

  std::string Data() const {
    std::string data;
    for (const v1::NodeSnapshotFile& c : chunks) data += c.data();
    return data;
  }
};

StreamedFile ReadStreamed(v1::NodeAgent::Stub* stub, const std::string& snapshot_id,
                          const std::string& path) {
  v1::NodeReadSnapshotFileRequest request;
  request.set_snapshot_id(snapshot_id);
  request.set_path(path);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  std::unique_ptr<grpc::ClientReader<v1::NodeSnapshotFile>> reader =
      stub->ReadSnapshotFile(&context, request);
  StreamedFile file;
  v1::NodeSnapshotFile chunk;
  while (reader->Read(&chunk)) file.chunks.push_back(chunk);
  file.status = reader->Finish();
  return file;
}

// A file larger than one gRPC message may be (4 MiB by default) comes in chunks of at most
// 1 MiB, the first with the whole size; an empty one is a single message of size 0.
TEST(SnapshotRpcTest, StreamsLargeAndEmptyFilesInChunks) {
  if (::geteuid() != 0) GTEST_SKIP() << "kura-node needs root";
  NodeTestEnv env;
  env.StartNode();
  auto stub = env.GatewayStub();
  // Varied bytes (every value, no period of a chunk's length), so a chunk that is lost,
  // repeated or misplaced changes the hash.
  std::string big((5 << 20) + 17, '\0');
  uint32_t x = 2463534242u;
  for (char& c : big) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x >> 24);
  }
  const std::string outputs = env.dir() + "/outputs";
  std::filesystem::create_directories(outputs);
  WriteFile(outputs + "/big.csv", big);
  WriteFile(outputs + "/empty.csv", "");
  auto snap = SnapshotOutputFiles(outputs, env.state() + "/snapshots", {"big.csv", "empty.csv"},
                                  disclosure::Policy());
  ASSERT_THAT(snap.status(), IsOk());

  StreamedFile file = ReadStreamed(stub.get(), snap->id, "big.csv");
  ASSERT_TRUE(file.status.ok()) << file.status.error_message();
  ASSERT_EQ(file.chunks.size(), 6u);  // five of 1 MiB and the last 17 bytes
  EXPECT_EQ(file.chunks[0].size(), big.size());
  for (size_t i = 0; i < file.chunks.size(); ++i) {
    EXPECT_LE(file.chunks[i].data().size(), 1u << 20) << i;
    if (i > 0) {
      EXPECT_EQ(file.chunks[i].size(), 0u) << i;
    }
  }
  EXPECT_EQ(file.chunks.back().data().size(), 17u);
  EXPECT_EQ(Sha256Hex(file.Data()), Sha256Hex(big));
  EXPECT_EQ(Sha256Hex(file.Data()), snap->files[0].sha256());

  StreamedFile empty = ReadStreamed(stub.get(), snap->id, "empty.csv");
  ASSERT_TRUE(empty.status.ok()) << empty.status.error_message();
  ASSERT_EQ(empty.chunks.size(), 1u);
  EXPECT_EQ(empty.chunks[0].size(), 0u);
  EXPECT_TRUE(empty.chunks[0].data().empty());

  struct Case {
    std::string id;
    std::string path;
    grpc::StatusCode code;
  } refusals[] = {
      {"../../etc", "passwd", grpc::StatusCode::INVALID_ARGUMENT},
      {snap->id, "../big.csv", grpc::StatusCode::INVALID_ARGUMENT},
      {snap->id, "missing.csv", grpc::StatusCode::NOT_FOUND},
      {std::string(64, '0'), "big.csv", grpc::StatusCode::NOT_FOUND},
  };
  for (const Case& c : refusals) {
    StreamedFile refused = ReadStreamed(stub.get(), c.id, c.path);
    EXPECT_EQ(refused.status.error_code(), c.code) << c.id << " " << c.path;
    EXPECT_TRUE(refused.chunks.empty()) << c.id << " " << c.path;
  }
  // Only the gateway may read a snapshot.
  auto terminal = env.Stub(env.terminal());
  EXPECT_EQ(ReadStreamed(terminal.get(), snap->id, "big.csv").status.error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
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

  // The software the workspace ran: what kura-node found at its start, kura's parts included.
  const v1::WorkspaceImage image = response.image();
  EXPECT_THAT(image.name(), StartsWith("host"));
  std::vector<std::string> components(image.components().begin(), image.components().end());
  EXPECT_TRUE(std::is_sorted(components.begin(), components.end()));
  EXPECT_EQ(image.digest(), "sha256:" + Sha256Hex(absl::StrJoin(components, "\n")));
  const std::string bin_dir = std::filesystem::path(KURA_NODE_BINARY).parent_path().string();
  auto init_sha256 = Sha256FileHex(bin_dir + "/kura-workspace-init");
  ASSERT_THAT(init_sha256.status(), IsOk());
  EXPECT_THAT(components, Contains("kura-workspace-init " + *init_sha256));
  EXPECT_THAT(components, Contains(StartsWith("kura-python ")));
  EXPECT_THAT(components, Contains(StartsWith("kura-node ")));

  {
    // The snapshot outlives the agent: a restarted kura-node still serves it, and the
    // operator's name for the image replaces the host's without changing what it is.
    env.StopNode();
    env.StartNode({"--image-name", "spe-analysis 2026.1"});
    stub = env.GatewayStub();
    StreamedFile file = ReadStreamed(stub.get(), response.snapshot_id(), "means.csv");
    ASSERT_TRUE(file.status.ok()) << file.status.error_message();
    ASSERT_EQ(file.chunks.size(), 1u);
    EXPECT_EQ(file.chunks[0].size(), response.files(0).size());
    EXPECT_EQ(file.Data(), "group,mean\nA,1.5\n");
    EXPECT_EQ(Sha256Hex(file.Data()), response.files(0).sha256());
    v1::NodeSnapshotResponse again;
    grpc::ClientContext context;
    grpc::Status status = stub->SnapshotOutputs(&context, request, &again);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(again.snapshot_id(), response.snapshot_id());
    EXPECT_EQ(again.image().name(), "spe-analysis 2026.1");
    EXPECT_EQ(again.image().digest(), image.digest());
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
