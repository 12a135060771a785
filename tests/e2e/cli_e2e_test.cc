// The researcher's command, `kura`, as a researcher runs it: a configuration directory with
// this terminal's certificate, a real kura-gateway, and FakeNode behind it.

#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "common/child_process.h"
#include "common/crypto.h"
#include "gateway/broker_assertion.h"
#include "gateway/pki_files.h"
#include "common/unique_fd.h"
#include "gateway/release.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/e2e/fake_node.h"
#include "tests/e2e/stack.h"

namespace kura::e2e {
namespace {

using gateway::DataClass;
using gateway::TerminalClass;
using ::testing::HasSubstr;

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

struct KuraResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const absl::Time now = absl::Now();
    stack_.AddResearcher("alice", {"cancer-2026"});
    stack_.AddGrantedSchema("cancer-2026", "claims", DataClass::kAnonymized,
                            now - absl::Hours(1), now + absl::Hours(24));
    stack_.AddGrantedSchema("cancer-2026", "claims_pseudo", DataClass::kPseudonymized,
                            now - absl::Hours(1), now + absl::Hours(24));
    TlsIdentity terminal = stack_.Terminal("vdi-01", TerminalClass::kStandard);
    absl::StatusOr<Ed25519KeyPair> broker = Ed25519GenerateKeyPair();
    ASSERT_TRUE(broker.ok());
    broker_ = *broker;
    ASSERT_TRUE(gateway::WriteNewFile(gateway::VdiBrokerKeyPath(stack_.pki_dir()),
                                      HexEncode(broker_.public_key) + "\n", 0644)
                    .ok());
    ASSERT_TRUE(stack_.StartGateway({"--heartbeat-interval", "60"}).ok());
    node_identity_ = stack_.Node("n1");
    node_ = std::make_unique<FakeNode>(node_identity_);
    kura::v1::RegisterNodeRequest request;
    request.set_address(node_->address());
    request.mutable_capacity()->set_cpus(8);
    request.mutable_capacity()->set_memory_bytes(16ull << 30);
    kura::v1::RegisterNodeResponse response;
    auto context = CallContext();
    ASSERT_TRUE(stack_.Registry(node_identity_)->Register(context.get(), request, &response).ok());

    config_dir_ = stack_.state_dir() + "/terminal-config";
    ASSERT_EQ(mkdir(config_dir_.c_str(), 0700), 0);
    std::ofstream(config_dir_ + "/ca.crt") << terminal.ca_pem;
    std::ofstream(config_dir_ + "/vdi-01.crt") << terminal.cert_pem;
    std::ofstream(config_dir_ + "/vdi-01.key") << terminal.key_pem;
    nlohmann::json config = {{"gateway", stack_.address()},
                             {"ca", "ca.crt"},
                             {"cert", "vdi-01.crt"},
                             {"key", "vdi-01.key"},
                             {"user", "alice"}};
    std::ofstream(config_dir_ + "/config.json") << config.dump(2);
  }

  KuraResult Kura(const std::vector<std::string>& args, const std::string& input = "") {
    const std::string in_path = stack_.state_dir() + "/kura.in";
    const std::string out_path = stack_.state_dir() + "/kura.out";
    const std::string err_path = stack_.state_dir() + "/kura.err";
    std::ofstream(in_path) << input;
    UniqueFd in(open(in_path.c_str(), O_RDONLY | O_CLOEXEC));
    UniqueFd out(open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    UniqueFd err(open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    std::vector<std::string> argv = {KURA_CLI_BIN, "--config-dir", config_dir_};
    argv.insert(argv.end(), args.begin(), args.end());
    ChildProcess::Options options;
    options.stdin_fd = in.get();
    options.stdout_fd = out.get();
    options.stderr_fd = err.get();
    KuraResult result;
    absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(argv, options);
    EXPECT_TRUE(child.ok()) << child.status();
    if (!child.ok()) return result;
    absl::StatusOr<ExitStatus> exit = child->Wait();
    result.exit_code = exit.ok() ? exit->ShellCode() : -1;
    result.out = Slurp(out_path);
    result.err = Slurp(err_path);
    return result;
  }

  KuraResult LogIn() {
    return Kura({"login", "alice", "--totp", stack_.FreshTotp("alice")});
  }

  Stack stack_;
  Ed25519KeyPair broker_;
  TlsIdentity node_identity_;
  std::unique_ptr<FakeNode> node_;
  std::string config_dir_;
};

TEST_F(CliTest, LoginKeepsTheTokenPrivateAndProjectsListsTheGrants) {
  KuraResult login = LogIn();
  ASSERT_EQ(login.exit_code, 0) << login.err;
  EXPECT_THAT(login.out, HasSubstr("logged in as alice"));
  struct stat st {};
  ASSERT_EQ(stat((config_dir_ + "/token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  KuraResult projects = Kura({"--json", "projects"});
  ASSERT_EQ(projects.exit_code, 0) << projects.err;
  nlohmann::json list = nlohmann::json::parse(projects.out);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["name"], "cancer-2026");
  EXPECT_EQ(list[0]["schemas"].size(), 2u);
}

TEST_F(CliTest, BrokerAssertionLogsInOnceAndItsReplayIsRefused) {
  absl::StatusOr<gateway::BrokerAssertion> assertion = gateway::SignBrokerAssertion(
      {"alice", "vdi-01", absl::ToUnixSeconds(absl::Now()), "nonce-cli-0123456789", ""},
      broker_.private_key);
  ASSERT_TRUE(assertion.ok());
  const std::string file = stack_.state_dir() + "/assertion.json";
  std::ofstream(file) << gateway::EncodeBrokerAssertion(*assertion);
  KuraResult login = Kura({"login", "alice", "--broker-assertion", file});
  ASSERT_EQ(login.exit_code, 0) << login.err;
  KuraResult replay = Kura({"login", "alice", "--broker-assertion", file});
  EXPECT_EQ(replay.exit_code, 1);
  EXPECT_THAT(replay.err, HasSubstr("login refused"));
}

TEST_F(CliTest, WrongCodeIsExplainedWithoutGrpcJargon) {
  KuraResult login = Kura({"login", "alice", "--totp", "000000x"});
  EXPECT_EQ(login.exit_code, 1);
  EXPECT_THAT(login.err, HasSubstr("login refused"));
  EXPECT_THAT(login.err, ::testing::Not(HasSubstr("UNAUTHENTICATED")));
}

TEST_F(CliTest, WorkspaceRunOutputsAndTheExitCode) {
  ASSERT_EQ(LogIn().exit_code, 0);
  KuraResult refused = Kura({"workspace", "open", "cancer-2026"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("not allowed"));
  EXPECT_THAT(refused.err, HasSubstr("dedicated"));

  KuraResult open = Kura({"workspace", "open", "cancer-2026", "--schema", "claims"});
  ASSERT_EQ(open.exit_code, 0) << open.err;
  EXPECT_THAT(open.out, HasSubstr("/data/claims"));

  KuraResult run = Kura({"run", "--", "exit", "3"});
  EXPECT_EQ(run.exit_code, 3) << run.err;
  EXPECT_EQ(run.out, "ran: exit 3\n");
  EXPECT_EQ(run.err, "a line on stderr\n");

  KuraResult outputs = Kura({"outputs", "--json"});
  ASSERT_EQ(outputs.exit_code, 0) << outputs.err;
  EXPECT_THAT(outputs.out, HasSubstr("table.csv"));

  KuraResult shell = Kura({"shell"}, "echo hi\nexit\n");
  EXPECT_EQ(shell.exit_code, 0) << shell.err;
  EXPECT_THAT(shell.out, HasSubstr("echo hi"));

  KuraResult list = Kura({"workspace", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_EQ(nlohmann::json::parse(list.out).size(), 1u);
  KuraResult close = Kura({"workspace", "close"});
  EXPECT_EQ(close.exit_code, 0) << close.err;
}

// Reads the terminal's master side until `marker` appears (bounded); what was read.
std::string ReadUntil(int master, const std::string& marker, absl::Duration timeout) {
  std::string seen;
  const absl::Time deadline = absl::Now() + timeout;
  while (seen.find(marker) == std::string::npos && absl::Now() < deadline) {
    pollfd p{master, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buffer[4096];
    ssize_t n = read(master, buffer, sizeof(buffer));
    if (n <= 0) break;
    seen.append(buffer, static_cast<size_t>(n));
  }
  return seen;
}

TEST_F(CliTest, ShellInATerminalIsRawFollowsResizesAndPassesCtrlC) {
  ASSERT_EQ(LogIn().exit_code, 0);
  ASSERT_EQ(Kura({"workspace", "open", "cancer-2026", "--schema", "claims"}).exit_code, 0);
  int master = -1;
  int terminal = -1;
  winsize size{};
  size.ws_row = 40;
  size.ws_col = 100;
  ASSERT_EQ(openpty(&master, &terminal, nullptr, nullptr, &size), 0);
  UniqueFd master_fd(master);
  UniqueFd terminal_fd(terminal);
  ChildProcess::Options options;
  options.stdin_fd = terminal;
  options.stdout_fd = terminal;
  options.stderr_fd = terminal;
  absl::StatusOr<ChildProcess> shell =
      ChildProcess::Spawn({KURA_CLI_BIN, "--config-dir", config_dir_, "shell"}, options);
  ASSERT_TRUE(shell.ok()) << shell.status();
  EXPECT_THAT(ReadUntil(master, "40x100", absl::Seconds(20)), HasSubstr("attached to"));

  size.ws_row = 50;
  size.ws_col = 120;
  ASSERT_EQ(ioctl(master, TIOCSWINSZ, &size), 0);
  ASSERT_TRUE(shell->Signal(SIGWINCH).ok());
  EXPECT_THAT(ReadUntil(master, "resized 50x120", absl::Seconds(20)), HasSubstr("resized"));

  // In raw mode Ctrl-C is a byte for the workload (which ends with 130), not a signal to kura.
  ASSERT_EQ(write(master, "\x03", 1), 1);
  std::optional<ExitStatus> exit;
  const absl::Time deadline = absl::Now() + absl::Seconds(20);
  while (!exit.has_value() && absl::Now() < deadline) {
    ReadUntil(master, "\n", absl::Milliseconds(100));  // keep the terminal drained
    absl::StatusOr<std::optional<ExitStatus>> ended = shell->TryWait();
    ASSERT_TRUE(ended.ok());
    exit = *ended;
  }
  ASSERT_TRUE(exit.has_value()) << "kura shell did not end after Ctrl-C (not in raw mode?)";
  EXPECT_FALSE(exit->signaled);
  EXPECT_EQ(exit->ShellCode(), 130);
}

TEST_F(CliTest, AfterLogoutCommandsSayToLogIn) {
  ASSERT_EQ(LogIn().exit_code, 0);
  ASSERT_EQ(Kura({"logout"}).exit_code, 0);
  KuraResult projects = Kura({"projects"});
  EXPECT_EQ(projects.exit_code, 1);
  EXPECT_THAT(projects.err, HasSubstr("kura login"));
}

TEST_F(CliTest, ExportRequestListWithdrawAndNoDownloadBeforeApproval) {
  ASSERT_EQ(LogIn().exit_code, 0);
  ASSERT_EQ(Kura({"workspace", "open", "cancer-2026", "--schema", "claims"}).exit_code, 0);
  KuraResult usage = Kura({"export", "request", "table.csv"});
  EXPECT_EQ(usage.exit_code, 1);
  EXPECT_THAT(usage.err, HasSubstr("--justification"));
  KuraResult refused = Kura({"export", "request", "link.csv", "--justification", "fig 1"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("symlink"));
  KuraResult request =
      Kura({"export", "request", "/outputs/table.csv", "--justification", "fig 1"});
  ASSERT_EQ(request.exit_code, 0) << request.err;
  EXPECT_THAT(request.out, HasSubstr("checked"));
  KuraResult list = Kura({"export", "list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  nlohmann::json requests = nlohmann::json::parse(list.out);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0]["files"][0]["path"], "table.csv");
  const std::string id = std::to_string(requests[0]["id"].get<int64_t>());
  KuraResult download = Kura({"export", "download", id, "--to", stack_.state_dir() + "/rel"});
  EXPECT_EQ(download.exit_code, 1);
  EXPECT_THAT(download.err, HasSubstr("not approved"));
  // alice is no reviewer.
  KuraResult vote = Kura({"review", "vote", id, "table.csv", "approve"});
  EXPECT_EQ(vote.exit_code, 1);
  EXPECT_THAT(vote.err, HasSubstr("author"));
  KuraResult resubmit = Kura({"export", "resubmit", id, "/outputs/table2.csv"});
  EXPECT_EQ(resubmit.exit_code, 0) << resubmit.err;
  EXPECT_THAT(resubmit.out, HasSubstr(" v2 "));
  EXPECT_THAT(resubmit.out, HasSubstr("table2.csv"));
  KuraResult withdraw = Kura({"export", "withdraw", id});
  EXPECT_EQ(withdraw.exit_code, 0) << withdraw.err;
  EXPECT_THAT(withdraw.out, HasSubstr("withdrawn"));
}

TEST_F(CliTest, VerifySaysPreciselyWhatDoesNotMatch) {
  absl::StatusOr<Ed25519KeyPair> key = Ed25519GenerateKeyPair();
  ASSERT_TRUE(key.ok());
  const std::string table = "region,count\nA,15\n";
  nlohmann::json manifest = {
      {"files", {{{"path", "t.csv"}, {"size", table.size()}, {"sha256", Sha256Hex(table)}}}}};
  const std::string text = manifest.dump(2);
  absl::StatusOr<std::string> sig = Ed25519Sign(key->private_key, text);
  ASSERT_TRUE(sig.ok());
  const std::string dir = stack_.state_dir() + "/release";
  ASSERT_TRUE(gateway::WriteReleaseDir(dir, text, *sig, {{"t.csv", table}}).ok());
  const std::string pub = stack_.state_dir() + "/release.pub";
  std::ofstream(pub) << HexEncode(key->public_key) << "\n";
  KuraResult good = Kura({"verify", dir, "--key", pub});
  EXPECT_EQ(good.exit_code, 0) << good.err;
  EXPECT_THAT(good.out, HasSubstr("verifies"));
  std::ofstream(dir + "/files/t.csv", std::ios::trunc) << "region,count\nA,1\n";
  std::ofstream(dir + "/files/extra.csv") << "x\n";
  KuraResult bad = Kura({"verify", dir, "--key", pub});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.err, HasSubstr("files/t.csv: SHA-256"));
  EXPECT_THAT(bad.err, HasSubstr("files/extra.csv: not in the manifest"));
}

}  // namespace
}  // namespace kura::e2e
