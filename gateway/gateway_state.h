#pragma once

// What every gateway service shares: the options it was started with, the store, kura's CA
// certificate, the gateway's own TLS identity (server certificate, and client certificate
// towards nodes), the clock, the audit log and the channels to nodes.
//
// Everything durable is in the store (state DIR/store.sqlite); this object only caches the
// PKI files and gRPC channels, so a restarted gateway continues where it stopped.
// Thread-safe.

#include <functional>
#include <initializer_list>
#include <utility>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/tls.h"
#include "gateway/login.h"
#include "gateway/records.h"
#include "gateway/session.h"
#include "gateway/store.h"
#include "kura/v1/node.grpc.pb.h"

namespace kura::gateway {

struct GatewayOptions {
  std::string state_dir;       // holds store.sqlite and pki/ (as kura-admin lays them out)
  std::string listen_address;  // host:port
  absl::Duration session_idle_timeout = absl::Minutes(15);
  absl::Duration session_lifetime = absl::Hours(12);
  absl::Duration heartbeat_interval = absl::Seconds(5);
  // A node is healthy while its last heartbeat is younger than this many intervals.
  int missed_heartbeats_tolerated = 3;
  int lock_after_failures = 5;
  absl::Duration login_backoff_base = absl::Seconds(1);
  uint32_t workspace_idle_timeout_seconds = 3600;
  std::function<absl::Time()> clock = [] { return absl::Now(); };
};

// The store file and PKI directory inside a state directory.
std::string StorePath(const std::string& state_dir);
std::string PkiDir(const std::string& state_dir);

class GatewayState final {
 public:
  // Opens state DIR: the store (created if missing) and pki/ (ca.crt, gateway.crt/.key, which
  // must exist: FailedPrecondition naming `kura-admin pki init` otherwise). With
  // pki/vdi-broker.pub (`kura-admin pki register-broker`) VDI broker assertions are accepted.
  static absl::StatusOr<std::unique_ptr<GatewayState>> Open(GatewayOptions options);

  const GatewayOptions& options() const { return options_; }
  Store& store() const { return *store_; }
  const std::string& ca_pem() const { return identity_.ca_pem; }
  const TlsIdentity& identity() const { return identity_; }
  absl::Time Now() const { return options_.clock(); }
  SessionManager& sessions() { return sessions_; }
  Authenticator& authenticator() { return authenticator_; }

  // Appends an audit event. A failure to audit is logged loudly; it never reaches the caller
  // because the decision it records has been taken already.
  void Audit(AuditEntry entry);

  // A NodeAgent stub for `node` (connecting to its registered address with the gateway's
  // certificate). NotFound for an unknown node.
  absl::StatusOr<std::shared_ptr<kura::v1::NodeAgent::Stub>> NodeStub(const std::string& node);

 private:
  GatewayState(GatewayOptions options, std::unique_ptr<Store> store, TlsIdentity identity);

  struct NodeChannel {
    std::string address;
    std::shared_ptr<kura::v1::NodeAgent::Stub> stub;
  };

  const GatewayOptions options_;
  const std::unique_ptr<Store> store_;
  const TlsIdentity identity_;
  SessionManager sessions_;
  Authenticator authenticator_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, NodeChannel> node_channels_ ABSL_GUARDED_BY(mu_);
};

// A JSON object of string fields, for audit details.
std::string JsonObject(std::initializer_list<std::pair<std::string, std::string>> fields);

// Conversions between the API's resources and the store's.
Resources FromProto(const kura::v1::Resources& proto);
kura::v1::Resources ToProto(const Resources& resources);

}  // namespace kura::gateway
