#include "cli/gateway_client.h"

#include <grpcpp/create_channel.h>

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/tls.h"

namespace kura::cli {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& what, const std::string& path) {
  if (path.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "no ", what, " configured for this terminal (set \"", what,
        "\" in config.json in your kura configuration directory)"));
  }
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read the ", what, " file ", path));
  std::ostringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

}  // namespace

absl::StatusOr<std::unique_ptr<GatewayClient>> GatewayClient::Connect(const ClientConfig& config) {
  if (config.gateway.empty()) {
    return absl::FailedPreconditionError(
        "no gateway configured: set KURA_GATEWAY=host:port, pass --gateway, or put \"gateway\" "
        "in config.json in your kura configuration directory");
  }
  TlsIdentity identity;
  KURA_ASSIGN_OR_RETURN(identity.ca_pem, ReadFile("ca", config.ca_path));
  KURA_ASSIGN_OR_RETURN(identity.cert_pem, ReadFile("cert", config.cert_path));
  KURA_ASSIGN_OR_RETURN(identity.key_pem, ReadFile("key", config.key_path));
  std::unique_ptr<GatewayClient> client(new GatewayClient());
  client->address_ = config.gateway;
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(16 << 20);
  auto channel =
      grpc::CreateCustomChannel(config.gateway, MutualTlsChannelCredentials(identity), args);
  client->stub_ = kura::v1::Researcher::NewStub(channel);
  return client;
}

std::unique_ptr<grpc::ClientContext> GatewayClient::Context(absl::Duration timeout) const {
  auto context = std::make_unique<grpc::ClientContext>();
  if (!token_.empty()) context->AddMetadata("authorization", absl::StrCat("Bearer ", token_));
  if (timeout > absl::ZeroDuration()) {
    context->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  }
  return context;
}

std::string ExplainFailure(const grpc::Status& status, const std::string& gateway) {
  const std::string& message = status.error_message();
  switch (status.error_code()) {
    case grpc::StatusCode::UNAUTHENTICATED:
      if (absl::StrContains(message, "certificate") || absl::StrContains(message, "terminal")) {
        return absl::StrCat("this terminal is not accepted by the gateway: ", message,
                            ". Ask your operator.");
      }
      if (absl::StrContains(message, "session") || absl::StrContains(message, "logged in") ||
          absl::StrContains(message, "token")) {
        return absl::StrCat("your session has expired or ended (", message,
                            "); run `kura login`");
      }
      if (absl::StartsWith(message, "login refused")) return message;
      return absl::StrCat("login refused: ", message);
    case grpc::StatusCode::PERMISSION_DENIED:
      return absl::StrCat("not allowed: ", message);
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::ALREADY_EXISTS:
      return message;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return absl::StrCat("not now: ", message);
    case grpc::StatusCode::UNAVAILABLE:
      if (absl::StrContains(message, "analysis node")) return message;
      return absl::StrCat("cannot reach the kura gateway at ", gateway,
                          " (is it running, and is this terminal's certificate valid and issued "
                          "by the gateway's CA?)");
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return absl::StrCat("the kura gateway at ", gateway, " did not answer in time");
    case grpc::StatusCode::CANCELLED:
      return "cancelled";
    default:
      return "the gateway reported an internal error; your operator can find it in its log";
  }
}

}  // namespace kura::cli
