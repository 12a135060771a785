#pragma once

// The kura command's connection to the gateway: mutual TLS with this terminal's certificate,
// and the session token attached to every call as `authorization: Bearer`. Also the one place
// where a gRPC status becomes words a researcher understands. Thread-compatible.

#include <memory>
#include <string>

#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cli/config.h"
#include "kura/v1/gateway.grpc.pb.h"

namespace kura::cli {

class GatewayClient final {
 public:
  // FailedPrecondition saying what to configure when the gateway or terminal files are
  // missing; NotFound naming an unreadable file.
  static absl::StatusOr<std::unique_ptr<GatewayClient>> Connect(const ClientConfig& config);

  kura::v1::Researcher::Stub& stub() { return *stub_; }
  const std::string& address() const { return address_; }

  void set_token(std::string token) { token_ = std::move(token); }
  // A context with the token and, unless `timeout` is zero, a deadline.
  std::unique_ptr<grpc::ClientContext> Context(absl::Duration timeout) const;

 private:
  GatewayClient() = default;
  std::string address_;
  std::string token_;
  std::unique_ptr<kura::v1::Researcher::Stub> stub_;
};

// What went wrong, in a researcher's words; `doing` says what was attempted ("login").
std::string ExplainFailure(const grpc::Status& status, const std::string& gateway);

}  // namespace kura::cli
