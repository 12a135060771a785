#include "gateway/gateway_state.h"

#include <grpcpp/create_channel.h>

#include <cmath>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "gateway/factor.h"
#include "nlohmann/json.hpp"
#include "common/logging.h"
#include "common/status.h"
#include "gateway/pki_files.h"
#include "gateway/sqlite_store.h"

namespace kura::gateway {

std::string StorePath(const std::string& state_dir) { return state_dir + "/store.sqlite"; }
std::string PkiDir(const std::string& state_dir) { return state_dir + "/pki"; }

GatewayState::GatewayState(GatewayOptions options, std::unique_ptr<Store> store,
                           TlsIdentity identity)
    : options_(std::move(options)),
      store_(std::move(store)),
      identity_(std::move(identity)),
      sessions_(*store_, SessionPolicy{options_.session_idle_timeout, options_.session_lifetime}),
      authenticator_(*store_, sessions_,
                     LoginGuardPolicy{.lock_after = options_.lock_after_failures,
                                      .base_delay = options_.login_backoff_base}) {
  authenticator_.AddFactor(std::make_unique<TotpFactor>(*store_));
}

absl::StatusOr<std::unique_ptr<GatewayState>> GatewayState::Open(GatewayOptions options) {
  const std::string pki = PkiDir(options.state_dir);
  TlsIdentity identity;
  PkiPaths ca = CaPaths(pki);
  PkiPaths own = PeerPaths(pki, PeerRole::kGateway, "gateway");
  absl::StatusOr<std::string> ca_pem = ReadTextFile(ca.certificate);
  if (!ca_pem.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no kura CA in ", pki, " (run `kura-admin --state ", options.state_dir,
        " pki init` first): ", ca_pem.status().message()));
  }
  identity.ca_pem = *std::move(ca_pem);
  KURA_ASSIGN_OR_RETURN(identity.cert_pem, ReadTextFile(own.certificate));
  KURA_ASSIGN_OR_RETURN(identity.key_pem, ReadTextFile(own.key));
  std::string broker_key;
  absl::StatusOr<std::string> broker_hex = ReadTextFile(VdiBrokerKeyPath(pki));
  if (broker_hex.ok()) {
    KURA_ASSIGN_OR_RETURN(broker_key, HexDecode(absl::StripAsciiWhitespace(*broker_hex)));
    if (broker_key.size() != 32) {
      return absl::FailedPreconditionError(absl::StrCat(
          VdiBrokerKeyPath(pki), " must hold a 32-byte Ed25519 key in hex"));
    }
  } else if (!absl::IsNotFound(broker_hex.status())) {
    return broker_hex.status();
  }
  // The store seals and opens TOTP secrets itself (sqlite_store.h) under pki/secrets.key, and
  // seals any it still holds in plaintext now.
  KURA_ASSIGN_OR_RETURN(std::unique_ptr<SqliteStore> store,
                        SqliteStore::Open(StorePath(options.state_dir), SecretsKeyPath(pki)));
  std::unique_ptr<GatewayState> state(
      new GatewayState(std::move(options), std::move(store), std::move(identity)));
  if (!broker_key.empty()) {
    state->authenticator_.AddFactor(
        std::make_unique<BrokerAssertionFactor>(*state->store_, std::move(broker_key)));
  }
  return state;
}

void GatewayState::Audit(AuditEntry entry) {
  absl::StatusOr<AuditEvent> event = store_->AppendAuditEvent(entry, Now());
  if (!event.ok()) {
    KURA_LOG(Error) << "AUDIT FAILURE: could not record " << entry.action << " by "
                    << entry.actor << " on " << entry.subject << ": " << event.status();
  }
}

absl::StatusOr<std::shared_ptr<kura::v1::NodeAgent::Stub>> GatewayState::NodeStub(
    const std::string& node) {
  KURA_ASSIGN_OR_RETURN(NodeRecord record, store_->GetNode(node));
  absl::MutexLock lock(&mu_);
  auto it = node_channels_.find(node);
  if (it != node_channels_.end() && it->second.address == record.address) return it->second.stub;
  grpc::ChannelArguments args;
  // Keep a quiet interactive session alive through idle-connection reapers.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  auto channel = grpc::CreateCustomChannel(record.address, MutualTlsChannelCredentials(identity_),
                                           args);
  NodeChannel entry{record.address, kura::v1::NodeAgent::NewStub(channel)};
  node_channels_[node] = entry;
  return entry.stub;
}

std::string JsonObject(std::initializer_list<std::pair<std::string, std::string>> fields) {
  nlohmann::json object = nlohmann::json::object();
  for (const auto& [key, value] : fields) object[key] = value;
  return object.dump();
}

Resources FromProto(const kura::v1::Resources& proto) {
  Resources resources;
  resources.millicpus = static_cast<int64_t>(std::llround(proto.cpus() * 1000));
  resources.memory_bytes = static_cast<int64_t>(proto.memory_bytes());
  // Sorted, so that equal requests give equal records.
  std::map<std::string, uint32_t> devices(proto.devices().begin(), proto.devices().end());
  // Each device gets an id of its own ("nvidia.com/gpu/0", ...): the scheduler tells taken
  // devices from free ones by id, so equal ids would make one taken GPU take them all.
  for (const auto& [kind, count] : devices) {
    for (uint32_t i = 0; i < count; ++i) {
      resources.devices.push_back({kind, "", absl::StrCat(kind, "/", i)});
    }
  }
  return resources;
}

kura::v1::Resources ToProto(const Resources& resources) {
  kura::v1::Resources proto;
  proto.set_cpus(static_cast<double>(resources.millicpus) / 1000.0);
  proto.set_memory_bytes(static_cast<uint64_t>(resources.memory_bytes));
  for (const Device& device : resources.devices) (*proto.mutable_devices())[device.kind] += 1;
  return proto;
}

}  // namespace kura::gateway
