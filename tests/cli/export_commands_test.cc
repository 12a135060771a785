// The kura command against a scripted Researcher service over real mutual TLS (certificates
// made at test time): `export download` streams a release to disk and removes it when the
// stream breaks or lies; `review show` saves and renders the files; `review get` checks what
// it saves. The gateway's real implementation is tested in tests/e2e; this one can script
// the failures a real gateway does not produce.

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cli/cli.h"
#include "common/crypto.h"
#include "common/tls.h"
#include "gateway/pki.h"
#include "gateway/release.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kura/v1/gateway.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "tests/common/status_matchers.h"

namespace kura::cli {
namespace {

using ::kura::testing::IsOk;
using ::testing::HasSubstr;
using ::testing::Not;

namespace fs = std::filesystem;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void WriteAll(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

// Answers as the test scripts it. The test thread sets the script between calls; each call
// ends before RunKura returns.
class ScriptedResearcher final : public kura::v1::Researcher::Service {
 public:
  kura::v1::ExportRequest request;
  std::map<std::string, std::string> files;
  std::string announced_sha256;  // overrides the true SHA-256 of ReadExportFile's first chunk
  std::vector<kura::v1::ReleaseChunk> release;
  grpc::Status release_end = grpc::Status::OK;

  grpc::Status ShowReview(grpc::ServerContext* context, const kura::v1::ShowExportRequest*,
                          kura::v1::ExportRequest* response) override {
    if (!Authorized(context)) return Unauthenticated();
    *response = request;
    return grpc::Status::OK;
  }

  grpc::Status ReadExportFile(grpc::ServerContext* context,
                              const kura::v1::ReadExportFileRequest* read,
                              grpc::ServerWriter<kura::v1::FileChunk>* writer) override {
    if (!Authorized(context)) return Unauthenticated();
    auto it = files.find(read->path());
    if (it == files.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such file");
    const std::string& data = it->second;
    size_t at = 0;
    do {
      kura::v1::FileChunk chunk;
      if (at == 0) {
        chunk.set_path(read->path());
        chunk.set_size(data.size());
        chunk.set_sha256(announced_sha256.empty() ? Sha256Hex(data) : announced_sha256);
      }
      chunk.set_data(data.substr(at, 5));
      at += 5;
      if (!writer->Write(chunk)) break;
    } while (at < data.size());
    return grpc::Status::OK;
  }

  grpc::Status DownloadRelease(grpc::ServerContext* context,
                               const kura::v1::DownloadReleaseRequest*,
                               grpc::ServerWriter<kura::v1::ReleaseChunk>* writer) override {
    if (!Authorized(context)) return Unauthenticated();
    for (const auto& chunk : release) {
      if (!writer->Write(chunk)) break;
    }
    return release_end;
  }

 private:
  static bool Authorized(grpc::ServerContext* context) {
    auto it = context->client_metadata().find("authorization");
    return it != context->client_metadata().end() && it->second == "Bearer token-1";
  }
  static grpc::Status Unauthenticated() {
    return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "no session");
  }
};

struct Outcome {
  int code;
  std::string out;
  std::string err;
};

class ExportCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::path(::testing::TempDir()) / "kura-cli-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    ASSERT_THAT(RequireTls13(), IsOk());
    const absl::Time now = absl::Now();
    auto ca = gateway::CreateCertificateAuthority("kura cli test CA", now, absl::Hours(1));
    ASSERT_THAT(ca, IsOk());
    gateway::CertificateRequest server;
    server.role = gateway::PeerRole::kGateway;
    server.id = "gateway";
    server.ip_addresses = {"127.0.0.1"};
    server.not_before = now - absl::Minutes(5);
    server.not_after = now + absl::Hours(1);
    auto server_pair = gateway::IssueCertificate(*ca, server);
    ASSERT_THAT(server_pair, IsOk());
    gateway::CertificateRequest terminal = server;
    terminal.role = gateway::PeerRole::kTerminal;
    terminal.id = "vdi-01";
    terminal.terminal_class = gateway::TerminalClass::kStandard;
    terminal.ip_addresses.clear();
    auto terminal_pair = gateway::IssueCertificate(*ca, terminal);
    ASSERT_THAT(terminal_pair, IsOk());

    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort(
        "127.0.0.1:0",
        MutualTlsServerCredentials(
            {ca->certificate_pem, server_pair->certificate_pem, server_pair->key_pem}),
        &port);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);

    config_dir_ = root_ + "/config";
    ASSERT_EQ(::mkdir(config_dir_.c_str(), 0700), 0);
    WriteAll(config_dir_ + "/ca.pem", ca->certificate_pem);
    WriteAll(config_dir_ + "/vdi.pem", terminal_pair->certificate_pem);
    WriteAll(config_dir_ + "/vdi.key", terminal_pair->key_pem);
    WriteAll(config_dir_ + "/token", "token-1");
    nlohmann::json config = {{"gateway", absl::StrCat("127.0.0.1:", port)},
                             {"ca", "ca.pem"},
                             {"cert", "vdi.pem"},
                             {"key", "vdi.key"}};
    WriteAll(config_dir_ + "/config.json", config.dump());
  }

  void TearDown() override {
    if (server_ != nullptr) server_->Shutdown();
    fs::remove_all(root_);
  }

  // Runs `kura --config-dir DIR args...` in this process, capturing stdout and stderr.
  Outcome Kura(std::vector<std::string> args) {
    args.insert(args.begin(), {"--config-dir", config_dir_});
    const std::string out_path = root_ + "/stdout", err_path = root_ + "/stderr";
    std::fflush(stdout);
    std::fflush(stderr);
    int saved_out = ::dup(1), saved_err = ::dup(2);
    int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ::dup2(out, 1);
    ::dup2(err, 2);
    int code = RunKura(args);
    std::fflush(stdout);
    std::fflush(stderr);
    ::dup2(saved_out, 1);
    ::dup2(saved_err, 2);
    for (int fd : {out, err, saved_out, saved_err}) ::close(fd);
    return {code, ReadAll(out_path), ReadAll(err_path)};
  }

  // A signed release of `files` and the key that verifies it.
  std::string ScriptRelease(const std::vector<std::pair<std::string, std::string>>& files) {
    auto keys = Ed25519GenerateKeyPair();
    EXPECT_TRUE(keys.ok());
    nlohmann::json listed = nlohmann::json::array();
    for (const auto& [path, data] : files) {
      listed.push_back({{"path", path}, {"size", data.size()}, {"sha256", Sha256Hex(data)}});
    }
    kura::v1::ReleaseChunk header;
    header.mutable_header()->set_manifest_json(
        nlohmann::json({{"format", "kura-release-2"}, {"files", listed}}).dump(2) + "\n");
    header.mutable_header()->set_signature(
        *Ed25519Sign(keys->private_key, header.header().manifest_json()));
    header.mutable_header()->set_public_key(keys->public_key);
    service_.release = {header};
    for (const auto& [path, data] : files) {
      for (size_t at = 0; at == 0 || at < data.size(); at += 4) {
        kura::v1::ReleaseChunk chunk;
        if (at == 0) {
          chunk.mutable_file()->set_path(path);
          chunk.mutable_file()->set_size(data.size());
          chunk.mutable_file()->set_sha256(Sha256Hex(data));
        }
        chunk.mutable_file()->set_data(data.substr(at, 4));
        service_.release.push_back(chunk);
      }
    }
    return keys->public_key;
  }

  std::string root_;
  std::string config_dir_;
  ScriptedResearcher service_;
  std::unique_ptr<grpc::Server> server_;
};

TEST_F(ExportCommandsTest, DownloadWritesAReleaseThatVerifies) {
  const std::string key =
      ScriptRelease({{"t1.csv", "a,b\n1,2\n"}, {"figs/f.png", "\x89PNG-bytes"}, {"e.txt", ""}});
  const std::string dir = root_ + "/release";
  Outcome run = Kura({"export", "download", "7", "--to", dir});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("(3 files, 18 bytes)"));
  EXPECT_THAT(gateway::VerifyReleaseDir(dir, key), IsOk());
  EXPECT_EQ(ReadAll(dir + "/files/t1.csv"), "a,b\n1,2\n");
  Outcome verify = Kura({"verify", dir});
  EXPECT_EQ(verify.code, 0) << verify.err;
}

TEST_F(ExportCommandsTest, ABrokenStreamLeavesNothing) {
  ScriptRelease({{"t1.csv", "a,b\n1,2\n3,4\n"}, {"t2.csv", "x\n"}});
  service_.release.resize(3);  // the header and two chunks of t1.csv
  service_.release_end = grpc::Status(grpc::StatusCode::INTERNAL, "node went away");
  const std::string dir = root_ + "/release";
  Outcome run = Kura({"export", "download", "7", "--to", dir});
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.err, HasSubstr("internal error"));
  EXPECT_FALSE(fs::exists(dir));
}

TEST_F(ExportCommandsTest, ALyingStreamLeavesNothing) {
  struct Case {
    std::string name;
    std::function<void(std::vector<kura::v1::ReleaseChunk>&)> lie;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"escaping path", [](auto& chunks) { chunks[1].mutable_file()->set_path("../../outside"); },
       "unsafe path"},
      {"absolute path", [](auto& chunks) { chunks[1].mutable_file()->set_path("/tmp/x"); },
       "unsafe path"},
      {"wrong hash", [](auto& chunks) { chunks[1].mutable_file()->set_sha256(Sha256Hex("other")); },
       "its first chunk announced"},
      {"short file", [](auto& chunks) { chunks[1].mutable_file()->set_size(100); },
       "received 8 bytes"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    ScriptRelease({{"t1.csv", "a,b\n1,2\n"}, {"t2.csv", "x\n"}});
    c.lie(service_.release);
    const std::string dir = root_ + "/release";
    Outcome run = Kura({"export", "download", "7", "--to", dir});
    EXPECT_EQ(run.code, 1);
    EXPECT_THAT(run.err, HasSubstr(c.message));
    EXPECT_FALSE(fs::exists(dir));
    EXPECT_FALSE(fs::exists(root_ + "/outside"));
  }
}

TEST_F(ExportCommandsTest, DownloadRefusesANonEmptyDirectory) {
  ScriptRelease({{"t1.csv", "a\n"}});
  const std::string dir = root_ + "/release";
  ASSERT_EQ(::mkdir(dir.c_str(), 0700), 0);
  WriteAll(dir + "/notes.txt", "mine");
  Outcome run = Kura({"export", "download", "7", "--to", dir});
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.err, HasSubstr("not an empty directory"));
  EXPECT_EQ(ReadAll(dir + "/notes.txt"), "mine");
}

kura::v1::ExportRequest ReviewedRequest(const std::map<std::string, std::string>& files) {
  kura::v1::ExportRequest r;
  r.set_id(7);
  r.set_version(1);
  r.set_latest_version(1);
  r.set_state("in_review");
  r.set_verdict("fail");
  for (const auto& [path, data] : files) {
    kura::v1::ExportFile* f = r.add_files();
    f->set_path(path);
    f->set_size(data.size());
    f->set_sha256(Sha256Hex(data));
  }
  nlohmann::json cell = {{"key", {{"sex", "F"}}}, {"verdict", "fail"}, {"value", 3}};
  nlohmann::json report = {{"verdict", "fail"},
                           {"files", {{{"path", "t1.csv"}, {"cells", {cell}}}}}};
  r.set_report_json(report.dump());
  return r;
}

TEST_F(ExportCommandsTest, ReviewShowSavesEveryFileAndRendersTheTable) {
  service_.files = {{"t1.csv", "sex,value\nF,3\nM,40\n"},
                    {"fig.png", "\x89PNG\r\n\x1a\nSECRET-PIXELS"}};
  service_.request = ReviewedRequest(service_.files);
  const std::string save = root_ + "/save";
  Outcome run = Kura({"review", "show", "7", "--save", save});
  ASSERT_EQ(run.code, 0) << run.err << run.out;
  EXPECT_THAT(run.out, HasSubstr("\n!! F        3\n"));
  EXPECT_THAT(run.out, HasSubstr("\n   M       40\n"));
  EXPECT_THAT(run.out, HasSubstr("saved for viewing inside the environment: " + save + "/fig.png"));
  EXPECT_THAT(run.out, Not(HasSubstr("SECRET-PIXELS")));
  EXPECT_EQ(ReadAll(save + "/fig.png"), service_.files["fig.png"]);
  struct stat st;
  ASSERT_EQ(::stat(save.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(::stat((save + "/t1.csv").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  // Shown again: the saved files hold the recorded bytes and are reused.
  Outcome again = Kura({"review", "show", "7", "--save", save});
  EXPECT_EQ(again.code, 0) << again.out;
}

TEST_F(ExportCommandsTest, ReviewShowRefusesBytesThatDoNotMatchTheRecord) {
  service_.files = {{"t1.csv", "sex,value\nF,3\n"}};
  service_.request = ReviewedRequest(service_.files);
  service_.files["t1.csv"] = "sex,value\nF,4\n";  // the gateway sends other bytes
  const std::string save = root_ + "/save";
  Outcome run = Kura({"review", "show", "7", "--save", save});
  EXPECT_EQ(run.code, 1);
  EXPECT_THAT(run.out, HasSubstr("could not be fetched"));
  EXPECT_FALSE(fs::exists(save + "/t1.csv"));
}

TEST_F(ExportCommandsTest, ReviewGetChecksAndNeverOverwrites) {
  service_.files = {{"t1.csv", "sex,value\nF,3\nM,40\n"}};
  const std::string to = root_ + "/t1.csv";
  Outcome run = Kura({"review", "get", "7", "t1.csv", "--to", to});
  ASSERT_EQ(run.code, 0) << run.err;
  EXPECT_EQ(ReadAll(to), service_.files["t1.csv"]);
  Outcome again = Kura({"review", "get", "7", "t1.csv", "--to", to});
  EXPECT_EQ(again.code, 1);
  EXPECT_THAT(again.err, HasSubstr("not overwritten"));

  service_.announced_sha256 = Sha256Hex("something else");
  const std::string other = root_ + "/other.csv";
  Outcome lied = Kura({"review", "get", "7", "t1.csv", "--to", other});
  EXPECT_EQ(lied.code, 1);
  EXPECT_THAT(lied.err, HasSubstr("SHA-256"));
  EXPECT_FALSE(fs::exists(other));
}

}  // namespace
}  // namespace kura::cli
