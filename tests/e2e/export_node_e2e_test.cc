// The export path with the real analysis node: a job writes a table to /outputs, kura-node
// snapshots it and runs the checker against the schema under the researcher's spec, two
// reviewers approve (overriding the failing cell with a reason), the author downloads the
// signed release and it verifies offline; links out of /outputs are refused. Needs root and a
// built kura-node; skipped with the reason otherwise.

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "absl/strings/str_cat.h"
#include "common/child_process.h"
#include "common/crypto.h"
#include "common/unique_fd.h"
#include "gateway/release.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/stack.h"

namespace kura::e2e {
namespace {

using gateway::Role;
using gateway::TerminalClass;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

int RunScript(kura::v1::Researcher::Stub& stub, const std::string& token, const std::string& id,
              const std::string& script) {
  kura::v1::JobRequest request;
  request.set_workspace_id(id);
  for (const char* a : {"/bin/sh", "-c"}) request.add_argv(a);
  request.add_argv(script);
  auto context = CallContext(token);
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(60)));
  auto reader = stub.RunJob(context.get(), request);
  int exit_code = -1;
  kura::v1::JobOutput output;
  while (reader->Read(&output)) {
    if (output.output_case() == kura::v1::JobOutput::kExitCode) exit_code = output.exit_code();
  }
  return reader->Finish().ok() ? exit_code : -1;
}

TEST(RealNodeExportTest, RequestCheckTwoReviewersReleaseVerify) {
  std::optional<std::string> node_bin = BuiltProgram("node/kura-node");
  if (!node_bin.has_value()) GTEST_SKIP() << "kura-node is not built in this tree";
  if (geteuid() != 0) GTEST_SKIP() << "kura-node needs root for the sandbox's namespaces";

  Stack stack;
  stack.AddUser("alice", {Role::kResearcher}, {"cancer-2026"});
  stack.AddUser("rev1", {Role::kReviewer}, {"cancer-2026"});
  stack.AddUser("rev2", {Role::kReviewer}, {"cancer-2026"});
  // A pseudonymized schema with one table: 12 patients in region A, 3 in region B.
  const std::string schema_dir = stack.state_dir() + "/schemas/claims";
  std::filesystem::create_directories(schema_dir);
  const std::string manifest =
      R"({"name": "claims", "data_class": "pseudonymized", "tables": [{"name": "claims",
          "file": "claims.csv", "columns": [{"name": "patient_id", "role": "unit_id"},
          {"name": "region", "role": "quasi_identifier"}]}]})";
  std::ofstream(schema_dir + "/schema.json") << manifest;
  std::string csv = "patient_id,region\n";
  for (int i = 0; i < 12; ++i) csv += absl::StrCat("a", i, ",A\n");
  for (int i = 0; i < 3; ++i) csv += absl::StrCat("b", i, ",B\n");
  std::ofstream(schema_dir + "/claims.csv") << csv;
  for (const std::string& p : {stack.state_dir(), stack.state_dir() + "/schemas", schema_dir}) {
    chmod(p.c_str(), 0755);
  }
  chmod((schema_dir + "/claims.csv").c_str(), 0644);
  chmod((schema_dir + "/schema.json").c_str(), 0644);
  gateway::SchemaRecord schema{.name = "claims",
                               .data_class = gateway::DataClass::kPseudonymized,
                               .path = schema_dir,
                               .manifest_sha256 = Sha256Hex(manifest),
                               .registered = absl::Now()};
  ASSERT_TRUE(stack.store().RegisterSchema(schema).ok());
  gateway::GrantRecord grant{.project = "cancer-2026",
                             .schema = "claims",
                             .valid_from = absl::Now() - absl::Hours(1),
                             .valid_to = absl::Now() + absl::Hours(24),
                             .created = absl::Now()};
  ASSERT_TRUE(stack.store().AddGrant(grant).ok());
  TlsIdentity terminal = stack.Terminal("vdi-sec", TerminalClass::kDedicated);
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

  std::map<std::string, std::string> tokens;
  for (const char* user : {"alice", "rev1", "rev2"}) {
    absl::StatusOr<std::string> token = stack.Login(terminal, user);
    ASSERT_TRUE(token.ok()) << token.status();
    tokens[user] = *token;
  }
  auto stub = stack.Researcher(terminal);
  kura::v1::OpenWorkspaceRequest open;
  open.set_project("cancer-2026");
  open.mutable_resources()->set_cpus(1);
  open.mutable_resources()->set_memory_bytes(1ull << 30);
  kura::v1::Workspace workspace;
  auto context = CallContext(tokens["alice"]);
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(90)));
  grpc::Status opened = stub->OpenWorkspace(context.get(), open, &workspace);
  ASSERT_TRUE(opened.ok()) << opened.error_message();
  ASSERT_EQ(RunScript(*stub, tokens["alice"], workspace.id(),
                      "printf 'region,value\\nA,12\\nB,3\\n' > /outputs/t.csv && "
                      "ln -s /data/claims/claims.csv /outputs/l.csv && "
                      "echo x > /outputs/a.csv && ln /outputs/a.csv /outputs/h.csv"),
            0);

  auto request_export = [&](const std::string& path, kura::v1::ExportRequest* out) {
    kura::v1::RequestExportRequest request;
    request.set_workspace_id(workspace.id());
    request.add_paths(path);
    request.set_justification("table 1");
    kura::v1::ExportSpec* spec = request.add_specs();
    spec->set_name("t.spec.json");
    spec->set_json(R"({"schema": "claims", "table": "claims", "output": "t.csv",
                       "rows": ["region"], "statistic": "count"})");
    auto c = CallContext(tokens["alice"]);
    return stub->RequestExport(c.get(), request, out);
  };
  kura::v1::ExportRequest request;
  grpc::Status symlink = request_export("l.csv", &request);
  EXPECT_EQ(symlink.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(symlink.error_message(), HasSubstr("symlink"));
  grpc::Status hardlink = request_export("h.csv", &request);
  EXPECT_EQ(hardlink.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(hardlink.error_message(), HasSubstr("hard link"));
  grpc::Status made = request_export("t.csv", &request);
  ASSERT_TRUE(made.ok()) << made.error_message();
  EXPECT_EQ(request.verdict(), "fail");  // region B has 3 patients
  EXPECT_EQ(request.required_reviewers(), 2);
  EXPECT_THAT(request.report_json(), HasSubstr("threshold"));

  // The file changing in /outputs after the request changes nothing that is released.
  ASSERT_EQ(RunScript(*stub, tokens["alice"], workspace.id(), "echo tampered > /outputs/t.csv"), 0);
  for (const char* reviewer : {"rev1", "rev2"}) {
    kura::v1::VoteRequest vote;
    vote.set_id(request.id());
    vote.set_version(1);
    vote.set_file("t.csv");
    vote.set_decision("approve");
    vote.set_override_reason("region B is published by the ministry already");
    kura::v1::ExportRequest after;
    auto c = CallContext(tokens[reviewer]);
    grpc::Status voted = stub->Vote(c.get(), vote, &after);
    ASSERT_TRUE(voted.ok()) << voted.error_message();
  }
  kura::v1::DownloadReleaseRequest download;
  download.set_id(request.id());
  auto dc = CallContext(tokens["alice"]);
  auto reader = stub->DownloadRelease(dc.get(), download);
  kura::v1::ReleaseHeader header;
  std::map<std::string, std::string> files;
  for (kura::v1::ReleaseChunk chunk; reader->Read(&chunk);) {
    if (chunk.has_header()) header = chunk.header();
    if (chunk.has_file()) files[chunk.file().path()] += chunk.file().data();
  }
  grpc::Status downloaded = reader->Finish();
  ASSERT_TRUE(downloaded.ok()) << downloaded.error_message();
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files["t.csv"], "region,value\nA,12\nB,3\n");
  // The manifest names the node's image and carries no micro-data evidence from the checker:
  // neither the cells' keys nor their distinct units.
  nlohmann::json signed_manifest = nlohmann::json::parse(header.manifest_json());
  EXPECT_THAT(signed_manifest["workspace_image"]["digest"].get<std::string>(),
              StartsWith("sha256:"));
  EXPECT_THAT(header.manifest_json(), Not(HasSubstr("evidence")));
  EXPECT_FALSE(signed_manifest["report"]["files"][0].contains("cells"));
  EXPECT_GE(signed_manifest["report"]["files"][0]["cells_by_verdict"]["fail"].get<int>(), 1);
  const std::string dir = stack.state_dir() + "/release";
  ASSERT_TRUE(
      gateway::WriteReleaseDir(dir, header.manifest_json(), header.signature(), files).ok());
  absl::StatusOr<Ed25519KeyPair> published = gateway::LoadOrCreateReleaseKey(stack.pki_dir());
  ASSERT_TRUE(published.ok());
  EXPECT_TRUE(gateway::VerifyReleaseDir(dir, published->public_key).ok());
  std::ofstream(dir + "/files/t.csv", std::ios::trunc) << "region,value\nA,12\nB,5\n";
  EXPECT_FALSE(gateway::VerifyReleaseDir(dir, published->public_key).ok());

  kura::v1::CloseWorkspaceRequest close;
  close.set_workspace_id(workspace.id());
  kura::v1::CloseWorkspaceResponse closed;
  auto close_context = CallContext(tokens["alice"]);
  EXPECT_TRUE(stub->CloseWorkspace(close_context.get(), close, &closed).ok());
  (void)node->Signal(SIGTERM);
  (void)node->Wait();
}

}  // namespace
}  // namespace kura::e2e
