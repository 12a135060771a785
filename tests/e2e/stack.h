#pragma once

// An end-to-end kura stack on loopback for tests: a state directory with a CA, the gateway's
// certificate and a SQLite store seeded through the core library; a real kura-gateway process
// serving mutual TLS on a free port; terminal and node identities issued on demand; stubs that
// present them. Programs are found in the build tree (KURA_BIN_DIR). Not thread-safe.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/child_process.h"
#include "common/tls.h"
#include "gateway/pki.h"
#include "gateway/sqlite_store.h"
#include "kura/v1/gateway.grpc.pb.h"

namespace kura::e2e {

// A fresh directory removed with its contents afterwards.
class ScratchDir final {
 public:
  ScratchDir();
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A kura program in the build tree, or nullopt when that part was not built.
std::optional<std::string> BuiltProgram(const std::string& relative);

class Stack final {
 public:
  // Creates the PKI and an empty store under a scratch directory.
  Stack();
  ~Stack();

  const std::string& state_dir() const { return dir_.path(); }
  std::string pki_dir() const { return dir_.path() + "/pki"; }
  std::string store_path() const { return dir_.path() + "/store.sqlite"; }
  gateway::SqliteStore& store() { return *store_; }
  const gateway::KeyAndCertificate& ca() const { return ca_; }

  // Starts kura-gateway with `flags` added; waits (bounded) until it serves.
  absl::Status StartGateway(const std::vector<std::string>& flags = {});
  // SIGTERM and wait.
  void StopGateway();
  const std::string& address() const { return address_; }

  // Issues a terminal certificate (registered in the store unless `register_it` is false).
  TlsIdentity Terminal(const std::string& id, gateway::TerminalClass klass,
                       bool register_it = true);
  // Issues a certificate for a node (IP SAN 127.0.0.1).
  TlsIdentity Node(const std::string& id);
  // The gateway's own identity (its certificate and key), as kura-gateway presents it.
  TlsIdentity GatewayIdentity() const;
  // Starts the real kura-node `program` as node `id` registering with this gateway (2 CPUs,
  // 4 GiB), its certificates, state and log (node_log()) under state_dir()/node.
  absl::StatusOr<ChildProcess> StartRealNode(const std::string& program, const std::string& id);
  std::string node_log() const { return dir_.path() + "/node/kura-node.log"; }
  // An identity signed by a CA of its own, not kura's.
  TlsIdentity Foreign(const std::string& id);
  // Issues a certificate with a custom validity window from kura's CA.
  TlsIdentity TerminalValidBetween(const std::string& id, absl::Time from, absl::Time to);

  std::unique_ptr<kura::v1::Researcher::Stub> Researcher(const TlsIdentity& identity);
  std::unique_ptr<kura::v1::NodeRegistry::Stub> Registry(const TlsIdentity& identity);

  // A researcher with a TOTP secret, member of `projects` (created when missing).
  void AddResearcher(const std::string& user, const std::vector<std::string>& projects);
  // A user with `roles` and a TOTP secret.
  void AddUser(const std::string& user, const std::vector<gateway::Role>& roles,
               const std::vector<std::string>& projects = {});
  // Registers `name` (class as given) at a directory made with a schema.json, and grants it
  // to `project` for [from, to).
  void AddGrantedSchema(const std::string& project, const std::string& name,
                        gateway::DataClass klass, absl::Time from, absl::Time to);
  // A TOTP code for `user` not used before (waits, bounded, when the window is spent).
  std::string FreshTotp(const std::string& user);
  // A code for `user` at the current step (possibly already used).
  std::string CurrentTotp(const std::string& user);

  // Logs `user` in from `terminal`; the token, or the failure.
  absl::StatusOr<std::string> Login(const TlsIdentity& terminal, const std::string& user);

 private:
  ScratchDir dir_;
  gateway::KeyAndCertificate ca_;
  gateway::KeyAndCertificate gateway_pair_;
  std::unique_ptr<gateway::SqliteStore> store_;
  std::optional<ChildProcess> gateway_;
  std::string address_;
  absl::flat_hash_map<std::string, std::string> totp_secrets_;
  absl::flat_hash_map<std::string, int64_t> last_totp_step_;
  int issued_ = 0;
};

// Adds `authorization: Bearer <token>` to a context (with a deadline of 30 s).
std::unique_ptr<grpc::ClientContext> CallContext(const std::string& token = "");

}  // namespace kura::e2e
