#include "gateway/server.h"

#include <grpcpp/server_builder.h>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace kura::gateway {

absl::StatusOr<std::unique_ptr<GatewayServer>> GatewayServer::Start(GatewayOptions options) {
  std::unique_ptr<GatewayServer> server(new GatewayServer());
  const std::string listen = options.listen_address;
  KURA_ASSIGN_OR_RETURN(server->state_, GatewayState::Open(std::move(options)));
  server->researcher_ = std::make_unique<ResearcherService>(*server->state_);
  server->registry_ = std::make_unique<NodeRegistryService>(*server->state_);
  server->operator_ = std::make_unique<OperatorService>(*server->state_);

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(listen, MutualTlsServerCredentials(server->state_->identity()), &port);
  builder.RegisterService(server->researcher_.get());
  builder.RegisterService(server->registry_.get());
  builder.RegisterService(server->operator_.get());
  // Attach streams carry keystrokes: small messages, sent at once.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", listen));
  }
  const size_t colon = listen.rfind(':');
  server->address_ = absl::StrCat(listen.substr(0, colon), ":", port);
  return server;
}

GatewayServer::~GatewayServer() {
  if (server_ != nullptr) Shutdown(absl::ZeroDuration());
}

void GatewayServer::Wait() { server_->Wait(); }

void GatewayServer::Shutdown(absl::Duration grace) {
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
}

}  // namespace kura::gateway
