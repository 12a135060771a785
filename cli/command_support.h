#pragma once

// What the kura commands share: connecting with the saved session, printing results as text
// or JSON, reporting failures in words, and picking options out of argument lists.
// Thread-compatible.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <grpcpp/support/status.h>

#include "absl/status/statusor.h"
#include "cli/config.h"
#include "cli/gateway_client.h"
#include "nlohmann/json.hpp"

namespace kura::cli {

// Prints "kura: <message>" on stderr (or {"error": ...} on stdout with --json); returns 1.
int Fail(const ClientConfig& config, const std::string& message);
// As Fail, for a refused or failed call; an expired session also forgets the saved token.
int FailCall(const ClientConfig& config, const grpc::Status& status);
int FailStatus(const ClientConfig& config, const absl::Status& status);

// A client carrying the saved session token; FailedPrecondition "not logged in" without one.
absl::StatusOr<std::unique_ptr<GatewayClient>> ConnectWithSession(const ClientConfig& config);

void PrintJson(const nlohmann::json& json);

// Removes "--name VALUE" from `args` and returns VALUE (the last one given).
std::optional<std::string> TakeOption(std::vector<std::string>& args, const std::string& name);
// Removes every "--name VALUE".
std::vector<std::string> TakeRepeatedOption(std::vector<std::string>& args,
                                            const std::string& name);

// The workspace named by --workspace, or the current one; FailedPrecondition without either.
absl::StatusOr<std::string> ChooseWorkspace(const ClientConfig& config,
                                            std::vector<std::string>& args);

}  // namespace kura::cli
