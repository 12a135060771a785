#include "tests/e2e/stack.h"

#include <fcntl.h>
#include <ftw.h>
#include <grpcpp/create_channel.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/unique_fd.h"
#include "gateway/pki_files.h"
#include "gateway/totp.h"

namespace kura::e2e {
namespace {

constexpr absl::Duration kStartDeadline = absl::Seconds(30);

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

void Check(const absl::Status& status, const char* what) {
  if (!status.ok()) {
    fprintf(stderr, "e2e setup failed: %s: %s\n", what, status.ToString().c_str());
    abort();
  }
}

template <typename T>
T Value(absl::StatusOr<T> value, const char* what) {
  Check(value.status(), what);
  return *std::move(value);
}

TlsIdentity IdentityOf(const std::string& ca_pem, const gateway::KeyAndCertificate& pair) {
  return TlsIdentity{ca_pem, pair.certificate_pem, pair.key_pem};
}

}  // namespace

ScratchDir::ScratchDir() {
  const char* base = getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/kura-e2e-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) abort();
  path_ = pattern;
}

ScratchDir::~ScratchDir() {
  nftw(
      path_.c_str(),
      [](const char* p, const struct stat*, int, struct FTW*) { return ::remove(p); }, 16,
      FTW_DEPTH | FTW_PHYS);
}

std::optional<std::string> BuiltProgram(const std::string& relative) {
  std::string path = absl::StrCat(KURA_BIN_DIR, "/", relative);
  if (access(path.c_str(), X_OK) != 0) return std::nullopt;
  return path;
}

Stack::Stack() {
  const absl::Time now = absl::Now();
  ca_ = Value(gateway::CreateCertificateAuthority("kura e2e CA", now, absl::Hours(24)), "CA");
  Check(gateway::EnsureDirectory(pki_dir()), "pki dir");
  Check(gateway::WriteKeyAndCertificate(gateway::CaPaths(pki_dir()), ca_), "write CA");
  gateway::CertificateRequest request;
  request.role = gateway::PeerRole::kGateway;
  request.id = "gateway";
  request.dns_names = {"localhost"};
  request.ip_addresses = {"127.0.0.1"};
  request.not_before = now - absl::Minutes(5);
  request.not_after = now + absl::Hours(24);
  gateway_pair_ = Value(gateway::IssueCertificate(ca_, request), "gateway certificate");
  Check(gateway::WriteKeyAndCertificate(
            gateway::PeerPaths(pki_dir(), gateway::PeerRole::kGateway, "gateway"), gateway_pair_),
        "write gateway certificate");
  store_ = Value(gateway::SqliteStore::Open(store_path()), "store");
}

Stack::~Stack() { StopGateway(); }

absl::Status Stack::StartGateway(const std::vector<std::string>& flags) {
  const std::string ready = absl::StrCat(state_dir(), "/ready-", ++issued_);
  std::vector<std::string> argv = {
      KURA_GATEWAY_BIN, "--state",      state_dir(), "--listen",
      "127.0.0.1:0",    "--ready-file", ready,       "--exit-with-parent"};
  argv.insert(argv.end(), flags.begin(), flags.end());
  absl::StatusOr<ChildProcess> child = ChildProcess::Spawn(argv, {});
  if (!child.ok()) return child.status();
  gateway_.emplace(*std::move(child));
  const absl::Time deadline = absl::Now() + kStartDeadline;
  while (absl::Now() < deadline) {
    std::string text(absl::StripAsciiWhitespace(ReadAll(ready)));
    if (!text.empty()) {
      address_ = text;
      return absl::OkStatus();
    }
    absl::StatusOr<std::optional<ExitStatus>> exited = gateway_->TryWait();
    if (exited.ok() && exited->has_value()) {
      gateway_.reset();
      return absl::InternalError(absl::StrCat("kura-gateway exited: ", (*exited)->ToString()));
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError("kura-gateway did not start within 30 s");
}

void Stack::StopGateway() {
  if (!gateway_.has_value()) return;
  (void)gateway_->Signal(SIGTERM);
  (void)gateway_->Wait();
  gateway_.reset();
}

TlsIdentity Stack::TerminalValidBetween(const std::string& id, absl::Time from, absl::Time to) {
  gateway::CertificateRequest request;
  request.role = gateway::PeerRole::kTerminal;
  request.id = id;
  request.terminal_class = gateway::TerminalClass::kStandard;
  request.not_before = from;
  request.not_after = to;
  auto pair = Value(gateway::IssueCertificate(ca_, request), "terminal certificate");
  auto identity = Value(gateway::ParsePeerIdentity(pair.certificate_pem), "parse terminal");
  gateway::TerminalRecord record;
  record.id = id;
  record.terminal_class = gateway::TerminalClass::kStandard;
  record.certificate_serial = identity.serial;
  record.registered = absl::Now();
  Check(store_->AddTerminal(record), "register terminal");
  return IdentityOf(ca_.certificate_pem, pair);
}

TlsIdentity Stack::Terminal(const std::string& id, gateway::TerminalClass klass, bool register_it) {
  const absl::Time now = absl::Now();
  gateway::CertificateRequest request;
  request.role = gateway::PeerRole::kTerminal;
  request.id = id;
  request.terminal_class = klass;
  request.not_before = now - absl::Minutes(5);
  request.not_after = now + absl::Hours(24);
  auto pair = Value(gateway::IssueCertificate(ca_, request), "terminal certificate");
  if (register_it) {
    auto identity = Value(gateway::ParsePeerIdentity(pair.certificate_pem), "parse terminal");
    gateway::TerminalRecord record;
    record.id = id;
    record.terminal_class = klass;
    record.certificate_serial = identity.serial;
    record.registered = now;
    Check(store_->AddTerminal(record), "register terminal");
  }
  return IdentityOf(ca_.certificate_pem, pair);
}

absl::StatusOr<ChildProcess> Stack::StartRealNode(const std::string& program,
                                                  const std::string& id) {
  const std::string node_dir = state_dir() + "/node";
  if (mkdir(node_dir.c_str(), 0755) != 0 || chmod(node_dir.c_str(), 0755) != 0) {
    return absl::InternalError("cannot make " + node_dir);
  }
  TlsIdentity identity = Node(id);
  std::ofstream(node_dir + "/ca.pem") << identity.ca_pem;
  std::ofstream(node_dir + "/node.pem") << identity.cert_pem;
  std::ofstream(node_dir + "/node.key") << identity.key_pem;
  chmod((node_dir + "/node.key").c_str(), 0600);
  UniqueFd log(open(node_log().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  ChildProcess::Options options;
  options.stdout_fd = log.get();
  options.stderr_fd = log.get();
  return ChildProcess::Spawn(
      {program, "serve", "--listen", "127.0.0.1:0", "--certs", node_dir, "--state",
       node_dir + "/state", "--run", node_dir + "/run", "--gateway", address(), "--advertise",
       "127.0.0.1:0", "--cpus", "2", "--memory-bytes", absl::StrCat(4ull << 30)},
      options);
}

TlsIdentity Stack::GatewayIdentity() const {
  return IdentityOf(ca_.certificate_pem, gateway_pair_);
}

TlsIdentity Stack::Node(const std::string& id) {
  const absl::Time now = absl::Now();
  gateway::CertificateRequest request;
  request.role = gateway::PeerRole::kNode;
  request.id = id;
  request.dns_names = {"localhost"};
  request.ip_addresses = {"127.0.0.1"};
  request.not_before = now - absl::Minutes(5);
  request.not_after = now + absl::Hours(24);
  return IdentityOf(ca_.certificate_pem,
                    Value(gateway::IssueCertificate(ca_, request), "node certificate"));
}

TlsIdentity Stack::Foreign(const std::string& id) {
  const absl::Time now = absl::Now();
  auto other =
      Value(gateway::CreateCertificateAuthority("not kura", now, absl::Hours(24)), "foreign CA");
  gateway::CertificateRequest request;
  request.role = gateway::PeerRole::kTerminal;
  request.id = id;
  request.terminal_class = gateway::TerminalClass::kDedicated;
  request.not_before = now - absl::Minutes(5);
  request.not_after = now + absl::Hours(24);
  auto pair = Value(gateway::IssueCertificate(other, request), "foreign certificate");
  // It trusts kura's CA for the server, but presents a certificate kura never issued.
  return IdentityOf(ca_.certificate_pem, pair);
}

std::unique_ptr<kura::v1::Researcher::Stub> Stack::Researcher(const TlsIdentity& identity) {
  return kura::v1::Researcher::NewStub(
      grpc::CreateChannel(address_, MutualTlsChannelCredentials(identity)));
}

std::unique_ptr<kura::v1::NodeRegistry::Stub> Stack::Registry(const TlsIdentity& identity) {
  return kura::v1::NodeRegistry::NewStub(
      grpc::CreateChannel(address_, MutualTlsChannelCredentials(identity)));
}

void Stack::AddResearcher(const std::string& user, const std::vector<std::string>& projects) {
  AddUser(user, {gateway::Role::kResearcher}, projects);
}

void Stack::AddUser(const std::string& user, const std::vector<gateway::Role>& roles,
                    const std::vector<std::string>& projects) {
  gateway::UserRecord record;
  record.name = user;
  record.roles = roles;
  record.totp_secret = Value(gateway::NewTotpSecret(), "totp secret");
  record.created = absl::Now();
  Check(store_->CreateUser(record), "create user");
  totp_secrets_[user] = record.totp_secret;
  for (const std::string& project : projects) {
    if (!store_->GetProject(project).ok()) {
      Check(store_->CreateProject({project, "e2e project " + project, absl::Now()}),
            "create project");
    }
    Check(store_->AddProjectMember(project, user), "add member");
  }
}

void Stack::AddGrantedSchema(const std::string& project, const std::string& name,
                             gateway::DataClass klass, absl::Time from, absl::Time to) {
  if (!store_->GetSchema(name).ok()) {
    const std::string dir = absl::StrCat(state_dir(), "/schemas/", name);
    Check(gateway::EnsureDirectory(state_dir() + "/schemas"), "schemas dir");
    Check(gateway::EnsureDirectory(dir), "schema dir");
    const std::string manifest =
        absl::StrCat(R"({"name": ")", name, R"(", "data_class": ")", gateway::DataClassName(klass),
                     R"(", "tables": []})", "\n");
    std::ofstream(dir + "/schema.json") << manifest;
    gateway::SchemaRecord schema;
    schema.name = name;
    schema.data_class = klass;
    schema.path = dir;
    schema.manifest_sha256 = Sha256Hex(manifest);
    schema.registered = absl::Now();
    Check(store_->RegisterSchema(schema), "register schema");
  }
  gateway::GrantRecord grant;
  grant.project = project;
  grant.schema = name;
  grant.valid_from = from;
  grant.valid_to = to;
  grant.created = absl::Now();
  Check(store_->AddGrant(grant).status(), "grant");
}

std::string Stack::CurrentTotp(const std::string& user) {
  return Value(gateway::ComputeTotp(totp_secrets_[user], gateway::TotpStepAt(absl::Now())), "totp");
}

std::string Stack::FreshTotp(const std::string& user) {
  // The gateway accepts the steps now-1 .. now+1, each once and in increasing order.
  const absl::Time deadline = absl::Now() + absl::Seconds(40);
  while (true) {
    const int64_t current = gateway::TotpStepAt(absl::Now());
    auto last = last_totp_step_.find(user);
    int64_t step = current - 1;
    if (last != last_totp_step_.end()) step = std::max(step, last->second + 1);
    if (step <= current + 1 || absl::Now() > deadline) {
      last_totp_step_[user] = step;
      return Value(gateway::ComputeTotp(totp_secrets_[user], step), "totp");
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
}

absl::StatusOr<std::string> Stack::Login(const TlsIdentity& terminal, const std::string& user) {
  auto stub = Researcher(terminal);
  kura::v1::LoginRequest request;
  request.set_user(user);
  request.set_totp_code(FreshTotp(user));
  kura::v1::LoginResponse response;
  auto context = CallContext();
  grpc::Status status = stub->Login(context.get(), request, &response);
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  return response.token();
}

std::unique_ptr<grpc::ClientContext> CallContext(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  if (!token.empty()) context->AddMetadata("authorization", "Bearer " + token);
  return context;
}

}  // namespace kura::e2e
