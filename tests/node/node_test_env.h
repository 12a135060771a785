#pragma once

// The node agent's end-to-end test bed: a kura CA and certificates made at test time, a schema
// directory, a real kura-node process on 127.0.0.1:0 (started with posix_spawn: the test process
// runs gRPC threads) and gRPC stubs holding the gateway's, a terminal's or another node's
// certificate. Not thread-safe; one per test.

#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/child_process.h"
#include "common/crypto.h"
#include "common/tls.h"
#include "gateway/pki.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "kura/v1/node.grpc.pb.h"

extern char** environ;

namespace kura::node::testing {

// Polls `condition` every 20 ms until it holds or `limit` passes; returns whether it held.
template <typename F>
bool Eventually(F condition, std::chrono::seconds limit = std::chrono::seconds(60)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

inline void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary);
  out << contents;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class NodeTestEnv {
 public:
  NodeTestEnv() {
    char tmpl[] = "/tmp/kura-node-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    // The sandbox binds schema and state directories as the workspace's unprivileged user.
    ::chmod(dir_.c_str(), 0755);
    std::filesystem::create_directories(dir_ + "/certs");
    std::filesystem::create_directories(dir_ + "/schemas/claims");
    absl::Time now = absl::Now();
    auto ca = gateway::CreateCertificateAuthority("kura test CA", now, absl::Hours(24));
    EXPECT_TRUE(ca.ok()) << ca.status();
    ca_ = *ca;
    node_ = Issue(ca_, gateway::PeerRole::kNode, "node-1");
    gateway_ = Issue(ca_, gateway::PeerRole::kGateway, "gw");
    terminal_ = Issue(ca_, gateway::PeerRole::kTerminal, "vdi-7");
    other_node_ = Issue(ca_, gateway::PeerRole::kNode, "node-2");
    auto other_ca = gateway::CreateCertificateAuthority("another CA", now, absl::Hours(24));
    EXPECT_TRUE(other_ca.ok());
    foreign_gateway_ = Issue(*other_ca, gateway::PeerRole::kGateway, "gw");
    foreign_ca_pem_ = other_ca->certificate_pem;
    WriteFile(dir_ + "/certs/ca.pem", ca_.certificate_pem);
    WriteFile(dir_ + "/certs/node.pem", node_.certificate_pem);
    WriteFile(dir_ + "/certs/node.key", node_.key_pem);

    manifest_ = R"({"name": "claims", "data_class": "anonymized", "tables": []})";
    WriteFile(dir_ + "/schemas/claims/schema.json", manifest_);
    WriteFile(dir_ + "/schemas/claims/claims.csv",
              "patient,age,cost\np1,40,100\np2,51,230\np3,62,80\n");
  }

  ~NodeTestEnv() {
    StopNode();
    KillSupervisors();
    UnmountAll();
    if (::testing::Test::HasFailure()) {
      std::fprintf(stderr, "kept %s for inspection\n", dir_.c_str());
      return;
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  const std::string& dir() const { return dir_; }
  std::string state() const { return dir_ + "/state"; }
  std::string run() const { return dir_ + "/run"; }
  std::string schema_dir() const { return dir_ + "/schemas/claims"; }
  std::string manifest_sha256() const { return Sha256Hex(manifest_); }

  // Serves `service` on a loopback port with the gateway's certificate, as the gateway's
  // NodeRegistry would be served; sets `*port`.
  std::unique_ptr<grpc::Server> ServeAsGateway(grpc::Service* service, int* port) {
    grpc::ServerBuilder builder;
    TlsIdentity identity{ca_.certificate_pem, gateway_.certificate_pem, gateway_.key_pem};
    builder.AddListeningPort("127.0.0.1:0", MutualTlsServerCredentials(identity), port);
    builder.RegisterService(service);
    std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
    EXPECT_NE(*port, 0);
    return server;
  }

  // Starts kura-node and waits until it has written its port.
  void StartNode(const std::vector<std::string>& extra = {}) {
    std::string port_file = dir_ + "/port";
    std::filesystem::remove(port_file);
    std::vector<std::string> args = {
        KURA_NODE_BINARY, "serve", "--listen", "127.0.0.1:0", "--certs",     dir_ + "/certs",
        "--state",        state(), "--run",    run(),         "--port-file", port_file};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ASSERT_EQ(::posix_spawn(&node_pid_, argv[0], nullptr, nullptr, argv.data(), environ), 0);
    ASSERT_TRUE(Eventually([&] { return !ReadFile(port_file).empty(); }))
        << "kura-node did not start";
    port_ = std::stoi(ReadFile(port_file));
  }

  void StopNode() {
    if (node_pid_ <= 0) return;
    ::kill(node_pid_, SIGKILL);
    ::waitpid(node_pid_, nullptr, 0);
    node_pid_ = -1;
  }

  // Supervisors outlive kura-node by design; a test leaves none behind. SIGTERM makes one
  // close its workspace (killing the sandbox); SIGKILL only if it does not end in time.
  void KillSupervisors() {
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(state() + "/workspaces", ec)) {
      std::string pid_text = ReadFile(e.path().string() + "/supervisor.pid");
      if (pid_text.empty() || !ReadFile(e.path().string() + "/closed").empty()) continue;
      pid_t pid = std::stoi(pid_text);
      auto pidfd = PidfdOpen(pid);
      if (!pidfd.ok()) continue;  // already gone
      // Only our supervisor, never a process that reused its pid.
      if (ReadFile("/proc/" + pid_text.substr(0, pid_text.find('\n')) + "/cmdline")
              .find(e.path().filename().string()) == std::string::npos) {
        continue;
      }
      ::kill(pid, SIGTERM);
      pollfd p{pidfd->get(), POLLIN, 0};
      if (::poll(&p, 1, 30000) <= 0) ::kill(pid, SIGKILL);
    }
  }

  // The workspace disks (node/workspace_disk.h) a stopped node leaves mounted: the deepest first,
  // detached, so that their loop devices free themselves once their sandboxes are gone.
  void UnmountAll() {
    std::ifstream mountinfo("/proc/self/mountinfo");
    std::vector<std::string> under;
    for (std::string line; std::getline(mountinfo, line);) {
      std::istringstream fields(line);
      std::string id, parent, dev, root, mount_point;
      fields >> id >> parent >> dev >> root >> mount_point;
      if (mount_point.rfind(dir_ + "/", 0) == 0) under.push_back(mount_point);
    }
    std::sort(under.begin(), under.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    for (const std::string& m : under) ::umount2(m.c_str(), MNT_DETACH);
  }

  std::unique_ptr<v1::NodeAgent::Stub> Stub(const gateway::KeyAndCertificate& who,
                                            const std::string& ca_pem = "") {
    TlsIdentity identity{ca_pem.empty() ? ca_.certificate_pem : ca_pem, who.certificate_pem,
                         who.key_pem};
    auto channel = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_),
                                       MutualTlsChannelCredentials(identity));
    return v1::NodeAgent::NewStub(channel);
  }
  std::unique_ptr<v1::NodeAgent::Stub> GatewayStub() { return Stub(gateway_); }

  int port() const { return port_; }
  const gateway::KeyAndCertificate& ca() const { return ca_; }
  const gateway::KeyAndCertificate& gateway() const { return gateway_; }
  const gateway::KeyAndCertificate& terminal() const { return terminal_; }
  const gateway::KeyAndCertificate& other_node() const { return other_node_; }
  const gateway::KeyAndCertificate& foreign_gateway() const { return foreign_gateway_; }
  const std::string& foreign_ca_pem() const { return foreign_ca_pem_; }

  v1::NodeOpenWorkspaceRequest OpenRequest(const std::string& id, uint32_t uid) const {
    v1::NodeOpenWorkspaceRequest r;
    r.set_workspace_id(id);
    r.set_project("cardio");
    r.set_user("alice");
    r.set_uid(uid);
    r.mutable_resources()->set_cpus(1);
    r.mutable_resources()->set_memory_bytes(1ull << 30);
    v1::MountSchema* s = r.add_schemas();
    s->set_name("claims");
    s->set_host_path(schema_dir());
    s->set_manifest_sha256(manifest_sha256());
    return r;
  }

 private:
  static gateway::KeyAndCertificate Issue(const gateway::KeyAndCertificate& ca,
                                          gateway::PeerRole role, const std::string& id) {
    gateway::CertificateRequest request;
    request.role = role;
    request.id = id;
    if (role == gateway::PeerRole::kTerminal) {
      request.terminal_class = gateway::TerminalClass::kStandard;
    } else {
      request.dns_names = {"localhost"};
      request.ip_addresses = {"127.0.0.1"};
    }
    request.not_before = absl::Now() - absl::Minutes(5);
    request.not_after = absl::Now() + absl::Hours(12);
    auto issued = gateway::IssueCertificate(ca, request);
    EXPECT_TRUE(issued.ok()) << issued.status();
    return issued.ok() ? *issued : gateway::KeyAndCertificate();
  }

  std::string dir_;
  std::string manifest_;
  gateway::KeyAndCertificate ca_, node_, gateway_, terminal_, other_node_, foreign_gateway_;
  std::string foreign_ca_pem_;
  pid_t node_pid_ = -1;
  int port_ = 0;
};

// Runs a batch job and collects its output.
struct JobRun {
  grpc::Status status;
  std::string out;
  std::string err;
  int exit_code = -1;
};

inline JobRun RunJob(v1::NodeAgent::Stub* stub, const std::string& workspace,
                     const std::vector<std::string>& argv) {
  JobRun run;
  v1::JobRequest request;
  request.set_workspace_id(workspace);
  for (const std::string& a : argv) request.add_argv(a);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  auto reader = stub->RunJob(&context, request);
  v1::JobOutput out;
  while (reader->Read(&out)) {
    if (out.has_stdout()) run.out += out.stdout();
    if (out.has_stderr()) run.err += out.stderr();
    if (out.has_exit_code()) run.exit_code = out.exit_code();
  }
  run.status = reader->Finish();
  return run;
}

}  // namespace kura::node::testing
