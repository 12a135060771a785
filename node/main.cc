// kura-node: the analysis node's agent.
//
//   kura-node serve --listen ADDR --certs DIR --state DIR --run DIR [--gateway ADDR ...]
//                   [--crl FILE [--crl-reload-seconds N]]
//   kura-node supervise --workspace ID --state DIR --run DIR   (started by serve)
//
// main only reads flags and calls the library.

#include <limits.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "common/tls.h"
#include "gateway/pki.h"
#include "grpcpp/grpcpp.h"
#include "node/gpu.h"
#include "node/image.h"
#include "node/node_service.h"
#include "node/registration.h"
#include "node/revocation.h"
#include "node/supervisor.h"
#include "node/workspace_host.h"

namespace {

using Flags = std::map<std::string, std::string>;

constexpr char kNodeVersion[] = "0.1.0";

constexpr char kUsage[] =
    "usage:\n"
    "  kura-node serve --listen HOST:PORT --certs DIR [--cert-name node]\n"
    "                  [--state /var/lib/kura/node] [--run /run/kura/node]\n"
    "                  [--gateway HOST:PORT --advertise HOST:PORT]\n"
    "                  [--crl FILE (kura CA's revocation list) [--crl-reload-seconds 5]]\n"
    "                  [--workspace-init PATH] [--port-file FILE] [--image-name NAME]\n"
    "                  [--cpus N] [--memory-bytes N] [--disk-bytes N] [--upload-limit-bytes N]\n"
    "                  [--disk-cap required|optional] [--gpus N] [--cuda-library libcuda.so.1]\n"
    "  kura-node supervise --workspace ID --state DIR --run DIR\n";

bool ParseFlags(int argc, char** argv, int first, Flags* flags) {
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) return false;
    size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      (*flags)[arg.substr(2, eq - 2)] = arg.substr(eq + 1);
    } else if (i + 1 < argc) {
      (*flags)[arg.substr(2)] = argv[++i];
    } else {
      return false;
    }
  }
  return true;
}

std::string Get(const Flags& flags, const std::string& name, const std::string& fallback = "") {
  auto it = flags.find(name);
  return it == flags.end() ? fallback : it->second;
}

std::string SelfDir() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return ".";
  std::string path(buf, n);
  return path.substr(0, path.rfind('/'));
}

std::string SelfBinary() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  return n > 0 ? std::string(buf, n) : "kura-node";
}

// The first of `candidates` that exists, resolved (the sandbox refuses symlinked sources).
std::string FindBinary(const std::vector<std::string>& candidates) {
  for (const std::string& c : candidates) {
    char resolved[PATH_MAX];
    if (::access(c.c_str(), X_OK) == 0 && ::realpath(c.c_str(), resolved) != nullptr) {
      return resolved;
    }
  }
  return candidates.empty() ? "" : candidates[0];
}

int Supervise(const Flags& flags) {
  kura::node::SupervisorOptions options;
  options.dirs.state = Get(flags, "state");
  options.dirs.run = Get(flags, "run");
  options.workspace_id = Get(flags, "workspace");
  if (options.dirs.state.empty() || options.dirs.run.empty() || options.workspace_id.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  return kura::node::RunSupervisor(options);
}

uint64_t GetNumber(const Flags& flags, const std::string& name, uint64_t fallback) {
  uint64_t v;
  return absl::SimpleAtoi(Get(flags, name), &v) ? v : fallback;
}

// The CA's revocation list the node holds the gateway to, or null without --crl.
absl::StatusOr<std::shared_ptr<kura::node::CertificateRevocation>> LoadRevocation(
    const Flags& flags, const std::string& ca_pem) {
  std::string path = Get(flags, "crl");
  if (path.empty()) {
    KURA_LOG(Warning) << "no --crl given: the gateway's certificate is NOT checked for revocation";
    return nullptr;
  }
  kura::node::CertificateRevocation::Options options;
  options.crl_path = path;
  options.ca_pem = ca_pem;
  options.reload_period = absl::Seconds(GetNumber(flags, "crl-reload-seconds", 5));
  auto revocation = kura::node::CertificateRevocation::Load(std::move(options));
  if (!revocation.ok()) {
    return absl::Status(
        revocation.status().code(),
        absl::StrCat("refusing to start on the revocation list ", revocation.status().message()));
  }
  return std::shared_ptr<kura::node::CertificateRevocation>(*std::move(revocation));
}

int Serve(const Flags& flags) {
  // A peer that goes away must end its call, not the agent.
  ::signal(SIGPIPE, SIG_IGN);
  if (absl::Status s = kura::RequireTls13(); !s.ok()) {
    KURA_LOG(Error) << s;
    return 1;
  }
  std::string listen = Get(flags, "listen");
  std::string certs = Get(flags, "certs");
  if (listen.empty() || certs.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  auto identity = kura::LoadTlsIdentity(certs, Get(flags, "cert-name", "node"));
  if (!identity.ok()) {
    KURA_LOG(Error) << identity.status();
    return 1;
  }
  auto self = kura::gateway::ParsePeerIdentity(identity->cert_pem);
  if (!self.ok() || self->role != kura::gateway::PeerRole::kNode) {
    KURA_LOG(Error) << "the certificate in " << certs << " is not a kura node certificate";
    return 1;
  }

  auto revocation = LoadRevocation(flags, identity->ca_pem);
  if (!revocation.ok()) {
    KURA_LOG(Error) << revocation.status().message();
    return 1;
  }

  const std::string dir = SelfDir();
  kura::node::WorkspaceHost::Options host_options;
  host_options.dirs.state = Get(flags, "state", "/var/lib/kura/node");
  host_options.dirs.run = Get(flags, "run", "/run/kura/node");
  host_options.node_id = self->id;
  host_options.self_binary = SelfBinary();
  host_options.policy.init_binary = Get(flags, "workspace-init");
  if (host_options.policy.init_binary.empty()) {
    host_options.policy.init_binary =
        FindBinary({dir + "/kura-workspace-init", dir + "/../libexec/kura/kura-workspace-init"});
  }
  // The kura Python module (python/kura), copied beside the binaries at build time.
  for (const std::string& candidate : {dir + "/python", dir + "/../share/kura/python"}) {
    char resolved[PATH_MAX];
    if (::access((candidate + "/kura/__init__.py").c_str(), R_OK) == 0 &&
        ::realpath(candidate.c_str(), resolved) != nullptr) {
      host_options.policy.python_dir = resolved;
      break;
    }
  }
  host_options.policy.disk_bytes = GetNumber(flags, "disk-bytes", 0);
  const std::string disk_cap = Get(flags, "disk-cap", "required");
  if (disk_cap != "required" && disk_cap != "optional") {
    std::fputs(kUsage, stderr);
    return 2;
  }
  host_options.disk_cap_optional = disk_cap == "optional";
  auto image = kura::node::HostWorkspaceImage(
      "/", {host_options.policy.init_binary, host_options.policy.python_dir, kNodeVersion});
  if (!image.ok()) {
    KURA_LOG(Error) << "cannot identify the workspace image: " << image.status();
    return 1;
  }
  if (std::string name = Get(flags, "image-name"); !name.empty()) image->set_name(name);
  KURA_LOG(Info) << "workspace image " << image->name() << " " << image->digest() << ": "
                 << absl::StrJoin(image->components(), ", ");
  kura::node::NodeGpuOptions gpu_options;
  gpu_options.cuda_library = Get(flags, "cuda-library", kura::node::kDefaultCudaLibrary);
  if (flags.count("gpus")) gpu_options.max_gpus = GetNumber(flags, "gpus", 0);
  host_options.gpus = kura::node::FindNodeGpus(gpu_options);
  KURA_LOG(Info) << kura::node::DescribeNvidiaGpus(host_options.gpus);
  for (const std::string& warning : host_options.gpus.warnings) KURA_LOG(Warning) << warning;
  kura::node::WorkspaceHost host(std::move(host_options));
  if (absl::Status s = host.Prepare(); !s.ok()) {
    KURA_LOG(Error) << s;
    return 1;
  }

  kura::v1::Resources capacity = kura::node::MachineCapacity();
  if (uint64_t cpus = GetNumber(flags, "cpus", 0); cpus > 0) capacity.set_cpus(cpus);
  if (uint64_t mem = GetNumber(flags, "memory-bytes", 0); mem > 0) capacity.set_memory_bytes(mem);
  kura::node::AddGpuCapacity(host.options().gpus, &capacity);
  kura::node::NodeAgentService::Options service_options;
  service_options.ca_pem = identity->ca_pem;
  service_options.capacity = capacity;
  service_options.upload_limit_bytes = GetNumber(flags, "upload-limit-bytes", 16ull << 20);
  service_options.image = *std::move(image);
  service_options.revocation = *revocation;
  kura::node::NodeAgentService service(&host, service_options);

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, kura::MutualTlsServerCredentials(*identity), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    KURA_LOG(Error) << "cannot listen on " << listen;
    return 1;
  }
  KURA_LOG(Info) << "kura-node " << self->id << " serving on port " << port;
  if (std::string port_file = Get(flags, "port-file"); !port_file.empty()) {
    if (absl::Status s = kura::node::WriteFileAtomically(port_file, absl::StrCat(port, "\n"));
        !s.ok()) {
      KURA_LOG(Error) << s;
      return 1;
    }
  }

  std::unique_ptr<kura::node::GatewayRegistration> registration;
  if (std::string gateway = Get(flags, "gateway"); !gateway.empty()) {
    kura::node::GatewayRegistration::Options reg;
    reg.channel = grpc::CreateChannel(gateway, kura::MutualTlsChannelCredentials(*identity));
    reg.advertise_address = Get(flags, "advertise", listen);
    if (reg.advertise_address.size() > 2 &&
        reg.advertise_address.substr(reg.advertise_address.size() - 2) == ":0") {
      reg.advertise_address =
          absl::StrCat(reg.advertise_address.substr(0, reg.advertise_address.size() - 1), port);
    }
    reg.capacity = capacity;
    reg.version = kNodeVersion;
    reg.revocation = *revocation;
    registration = std::make_unique<kura::node::GatewayRegistration>(&host, std::move(reg));
  }
  server->Wait();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (argc < 2 || !ParseFlags(argc, argv, 2, &flags)) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  std::string command = argv[1];
  if (command == "supervise") return Supervise(flags);
  if (command == "serve") return Serve(flags);
  std::fputs(kUsage, stderr);
  return 2;
}
