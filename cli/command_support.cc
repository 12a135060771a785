#include "cli/command_support.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "cli/terminal_text.h"
#include "common/status.h"

namespace kura::cli {

int Fail(const ClientConfig& config, const std::string& message) {
  if (config.json) {
    PrintJson({{"error", message}});
  } else {
    // Messages quote what the gateway sent, and through it what code in a sandbox chose (a
    // file's name): nothing in them may drive the terminal.
    std::fprintf(stderr, "kura: %s\n", Neutralize(message, TextKind::kBlock).c_str());
  }
  return 1;
}

int FailCall(const ClientConfig& config, const grpc::Status& status) {
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) ForgetToken(config);
  return Fail(config, ExplainFailure(status, config.gateway));
}

int FailStatus(const ClientConfig& config, const absl::Status& status) {
  return Fail(config, std::string(status.message()));
}

absl::StatusOr<std::unique_ptr<GatewayClient>> ConnectWithSession(const ClientConfig& config) {
  absl::StatusOr<std::string> token = LoadToken(config);
  if (!token.ok()) return absl::FailedPreconditionError("you are not logged in; run `kura login`");
  KURA_ASSIGN_OR_RETURN(std::unique_ptr<GatewayClient> client, GatewayClient::Connect(config));
  client->set_token(*token);
  return client;
}

void PrintJson(const nlohmann::json& json) {
  std::string text = json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  std::printf("%s\n", text.c_str());
}

std::optional<std::string> TakeOption(std::vector<std::string>& args, const std::string& name) {
  std::optional<std::string> value;
  for (size_t i = 0; i < args.size();) {
    if (args[i] == "--") break;
    if (args[i] == name && i + 1 < args.size()) {
      value = args[i + 1];
      args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
    } else {
      ++i;
    }
  }
  return value;
}

std::vector<std::string> TakeRepeatedOption(std::vector<std::string>& args,
                                            const std::string& name) {
  std::vector<std::string> values;
  for (size_t i = 0; i < args.size();) {
    if (args[i] == "--") break;
    if (args[i] == name && i + 1 < args.size()) {
      values.push_back(args[i + 1]);
      args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i) + 2);
    } else {
      ++i;
    }
  }
  return values;
}

absl::StatusOr<std::string> ChooseWorkspace(const ClientConfig& config,
                                            std::vector<std::string>& args) {
  if (std::optional<std::string> id = TakeOption(args, "--workspace"); id.has_value()) return *id;
  if (std::optional<std::string> id = CurrentWorkspace(config); id.has_value()) return *id;
  return absl::FailedPreconditionError(
      "no workspace: open one with `kura workspace open PROJECT` or pass --workspace ID");
}

}  // namespace kura::cli
