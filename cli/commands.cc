// kura login, logout, projects, workspace open|list|close and outputs.

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "cli/cli.h"
#include "cli/command_support.h"
#include "common/crypto.h"

namespace kura::cli {
namespace {

constexpr absl::Duration kCallTimeout = absl::Seconds(30);
constexpr absl::Duration kOpenTimeout = absl::Seconds(120);

std::string SchemaList(const google::protobuf::RepeatedPtrField<kura::v1::SchemaRef>& schemas) {
  std::vector<std::string> names;
  for (const auto& schema : schemas) {
    names.push_back(absl::StrCat(schema.name(), " (", schema.data_class(), ")"));
  }
  return names.empty() ? "none granted now" : absl::StrJoin(names, ", ");
}

nlohmann::json WorkspaceJson(const kura::v1::Workspace& workspace) {
  nlohmann::json schemas = nlohmann::json::array();
  for (const auto& schema : workspace.schemas()) {
    schemas.push_back({{"name", schema.name()}, {"data_class", schema.data_class()}});
  }
  return {{"id", workspace.id()},
          {"project", workspace.project()},
          {"node", workspace.node()},
          {"state", workspace.state()},
          {"cpus", workspace.resources().cpus()},
          {"memory_bytes", workspace.resources().memory_bytes()},
          {"devices", std::map<std::string, uint32_t>(workspace.resources().devices().begin(),
                                                      workspace.resources().devices().end())},
          {"schemas", schemas},
          {"created_unix", workspace.created_unix()}};
}

std::string AskForCode(const std::string& user) {
  if (isatty(STDIN_FILENO)) std::fprintf(stderr, "TOTP code for %s: ", user.c_str());
  std::string code;
  std::getline(std::cin, code);
  return code;
}

int WorkspaceOpen(const Invocation& invocation, std::vector<std::string> args) {
  const ClientConfig& config = invocation.config;
  kura::v1::OpenWorkspaceRequest request;
  if (std::optional<std::string> cpus = TakeOption(args, "--cpus"); cpus.has_value()) {
    double value = 0;
    if (!absl::SimpleAtod(*cpus, &value)) return Fail(config, "--cpus takes a number");
    request.mutable_resources()->set_cpus(value);
  }
  if (std::optional<std::string> memory = TakeOption(args, "--memory"); memory.has_value()) {
    double gib = 0;
    if (!absl::SimpleAtod(*memory, &gib) || gib <= 0) {
      return Fail(config, "--memory takes a size in GiB");
    }
    request.mutable_resources()->set_memory_bytes(static_cast<uint64_t>(gib * (1ull << 30)));
  }
  // Accelerators by kind: --gpus N is --device nvidia.com/gpu=N.
  std::vector<std::string> devices = TakeRepeatedOption(args, "--device");
  if (std::optional<std::string> gpus = TakeOption(args, "--gpus"); gpus.has_value()) {
    devices.push_back("nvidia.com/gpu=" + *gpus);
  }
  for (const std::string& device : devices) {
    std::pair<std::string, std::string> kind_count = absl::StrSplit(device, '=');
    uint32_t count = 0;
    if (kind_count.first.empty() || !absl::SimpleAtoi(kind_count.second, &count) || count == 0) {
      return Fail(config, "--device takes KIND=N (e.g. nvidia.com/gpu=1), --gpus a count");
    }
    (*request.mutable_resources()->mutable_devices())[kind_count.first] += count;
  }
  for (const std::string& schema : TakeRepeatedOption(args, "--schema")) {
    request.add_schemas(schema);
  }
  if (args.size() != 1) return Fail(config, "usage: kura workspace open PROJECT [options]");
  request.set_project(args[0]);
  absl::StatusOr<std::unique_ptr<GatewayClient>> client = ConnectWithSession(config);
  if (!client.ok()) return FailStatus(config, client.status());
  kura::v1::Workspace workspace;
  auto context = (*client)->Context(kOpenTimeout);
  grpc::Status status = (*client)->stub().OpenWorkspace(context.get(), request, &workspace);
  if (!status.ok()) return FailCall(config, status);
  (void)SaveCurrentWorkspace(config, workspace.id());
  if (config.json) {
    PrintJson(WorkspaceJson(workspace));
  } else {
    std::printf("workspace %s open on node %s for project %s\n", workspace.id().c_str(),
                workspace.node().c_str(), workspace.project().c_str());
    for (const auto& [kind, count] : workspace.resources().devices()) {
      std::printf("  %u × %s\n", count, kind.c_str());
    }
    for (const auto& schema : workspace.schemas()) {
      std::printf("  /data/%s  (%s, read-only)\n", schema.name().c_str(),
                  schema.data_class().c_str());
    }
    std::printf("it is now your current workspace: `kura shell`, `kura run -- CMD`\n");
  }
  return 0;
}

int WorkspaceList(const Invocation& invocation, const std::vector<std::string>& args) {
  const ClientConfig& config = invocation.config;
  absl::StatusOr<std::unique_ptr<GatewayClient>> client = ConnectWithSession(config);
  if (!client.ok()) return FailStatus(config, client.status());
  kura::v1::ListWorkspacesRequest request;
  if (!args.empty()) request.set_project(args[0]);
  kura::v1::ListWorkspacesResponse response;
  auto context = (*client)->Context(kCallTimeout);
  grpc::Status status = (*client)->stub().ListWorkspaces(context.get(), request, &response);
  if (!status.ok()) return FailCall(config, status);
  if (config.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& workspace : response.workspaces()) list.push_back(WorkspaceJson(workspace));
    PrintJson(list);
    return 0;
  }
  const std::optional<std::string> current = CurrentWorkspace(config);
  if (response.workspaces().empty()) std::printf("no open workspaces\n");
  for (const auto& workspace : response.workspaces()) {
    std::printf("%s %-18s %-16s %-10s %-8s %g CPU, %.1f GiB\n",
                current == workspace.id() ? "*" : " ", workspace.id().c_str(),
                workspace.project().c_str(), workspace.node().c_str(), workspace.state().c_str(),
                workspace.resources().cpus(),
                static_cast<double>(workspace.resources().memory_bytes()) / (1ull << 30));
  }
  return 0;
}

int WorkspaceClose(const Invocation& invocation, std::vector<std::string> args) {
  const ClientConfig& config = invocation.config;
  if (!args.empty() && args[0].rfind("--", 0) != 0) args.insert(args.begin(), "--workspace");
  absl::StatusOr<std::string> id = ChooseWorkspace(config, args);
  if (!id.ok()) return FailStatus(config, id.status());
  absl::StatusOr<std::unique_ptr<GatewayClient>> client = ConnectWithSession(config);
  if (!client.ok()) return FailStatus(config, client.status());
  kura::v1::CloseWorkspaceRequest request;
  request.set_workspace_id(*id);
  kura::v1::CloseWorkspaceResponse response;
  auto context = (*client)->Context(kCallTimeout);
  grpc::Status status = (*client)->stub().CloseWorkspace(context.get(), request, &response);
  if (!status.ok()) return FailCall(config, status);
  if (CurrentWorkspace(config) == *id) ForgetCurrentWorkspace(config);
  if (config.json) {
    PrintJson({{"closed", *id}});
  } else {
    std::printf("workspace %s closed (its /outputs stay for export)\n", id->c_str());
  }
  return 0;
}

// The VDI broker's signed assertion, as the broker hands it over (JSON: user, terminal, time,
// nonce, signature in base64url).
absl::Status ReadBrokerAssertion(const std::string& path, kura::v1::BrokerAssertion* wire) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  nlohmann::json json = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  const bool complete = json.is_object() && json.contains("user") && json["user"].is_string() &&
                        json.contains("terminal") && json["terminal"].is_string() &&
                        json.contains("time") && json["time"].is_number_integer() &&
                        json.contains("nonce") && json["nonce"].is_string() &&
                        json.contains("signature") && json["signature"].is_string();
  if (!complete) {
    return absl::InvalidArgumentError(
        absl::StrCat(path,
                     " is not a VDI broker assertion (user, terminal, time, nonce, "
                     "signature)"));
  }
  absl::StatusOr<std::string> signature = Base64UrlDecode(json["signature"].get<std::string>());
  if (!signature.ok()) return absl::InvalidArgumentError("the assertion's signature is garbled");
  wire->set_user(json["user"].get<std::string>());
  wire->set_terminal_id(json["terminal"].get<std::string>());
  wire->set_issued_unix(json["time"].get<int64_t>());
  wire->set_nonce(json["nonce"].get<std::string>());
  wire->set_signature(*signature);
  return absl::OkStatus();
}

}  // namespace

int LoginCommand(const Invocation& invocation) {
  const ClientConfig& config = invocation.config;
  std::vector<std::string> args = invocation.args;
  std::optional<std::string> code = TakeOption(args, "--totp");
  std::optional<std::string> assertion = TakeOption(args, "--broker-assertion");
  std::string user = !args.empty() ? args[0] : config.user;
  if (user.empty() && std::getenv("USER") != nullptr) user = std::getenv("USER");
  if (user.empty()) {
    return Fail(config, "usage: kura login USER [--totp CODE | --broker-assertion FILE]");
  }
  absl::StatusOr<std::unique_ptr<GatewayClient>> client = GatewayClient::Connect(config);
  if (!client.ok()) return FailStatus(config, client.status());
  kura::v1::LoginRequest request;
  request.set_user(user);
  if (assertion.has_value()) {
    absl::Status read = ReadBrokerAssertion(*assertion, request.mutable_broker_assertion());
    if (!read.ok()) return FailStatus(config, read);
  } else {
    request.set_totp_code(code.has_value() ? *code : AskForCode(user));
  }
  kura::v1::LoginResponse response;
  auto context = (*client)->Context(kCallTimeout);
  grpc::Status status = (*client)->stub().Login(context.get(), request, &response);
  if (!status.ok()) return FailCall(config, status);
  if (absl::Status saved = SaveToken(config, response.token()); !saved.ok()) {
    return FailStatus(config, saved);
  }
  const std::string expires = absl::FormatTime(
      "%Y-%m-%d %H:%M %Z", absl::FromUnixSeconds(response.expires_unix()), absl::LocalTimeZone());
  if (config.json) {
    PrintJson(
        {{"user", user},
         {"roles", std::vector<std::string>(response.roles().begin(), response.roles().end())},
         {"expires_unix", response.expires_unix()},
         {"idle_timeout_seconds", response.idle_timeout_seconds()}});
  } else {
    std::printf("logged in as %s; the session ends after %lld min idle, at the latest %s\n",
                user.c_str(), static_cast<long long>(response.idle_timeout_seconds() / 60),
                expires.c_str());
  }
  return 0;
}

int LogoutCommand(const Invocation& invocation) {
  const ClientConfig& config = invocation.config;
  absl::StatusOr<std::unique_ptr<GatewayClient>> client = ConnectWithSession(config);
  if (!client.ok()) return FailStatus(config, client.status());
  kura::v1::LogoutResponse response;
  auto context = (*client)->Context(kCallTimeout);
  grpc::Status status = (*client)->stub().Logout(context.get(), {}, &response);
  ForgetToken(config);
  if (!status.ok() && status.error_code() != grpc::StatusCode::UNAUTHENTICATED) {
    return FailCall(config, status);
  }
  if (config.json) {
    PrintJson({{"logged_out", true}});
  } else {
    std::printf("logged out\n");
  }
  return 0;
}

int ProjectsCommand(const Invocation& invocation) {
  const ClientConfig& config = invocation.config;
  absl::StatusOr<std::unique_ptr<GatewayClient>> client = ConnectWithSession(config);
  if (!client.ok()) return FailStatus(config, client.status());
  kura::v1::ListProjectsResponse response;
  auto context = (*client)->Context(kCallTimeout);
  grpc::Status status = (*client)->stub().ListProjects(context.get(), {}, &response);
  if (!status.ok()) return FailCall(config, status);
  if (config.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& project : response.projects()) {
      nlohmann::json schemas = nlohmann::json::array();
      for (const auto& schema : project.schemas()) {
        schemas.push_back({{"name", schema.name()}, {"data_class", schema.data_class()}});
      }
      list.push_back({{"name", project.name()},
                      {"description", project.description()},
                      {"role", project.role()},
                      {"schemas", schemas}});
    }
    PrintJson(list);
    return 0;
  }
  if (response.projects().empty()) std::printf("you are not a member of any project\n");
  for (const auto& project : response.projects()) {
    std::printf("%s  %s\n  schemas: %s\n", project.name().c_str(), project.description().c_str(),
                SchemaList(project.schemas()).c_str());
  }
  return 0;
}

int WorkspaceCommand(const Invocation& invocation) {
  std::vector<std::string> args = invocation.args;
  const std::string verb = args.empty() ? "list" : args[0];
  if (!args.empty()) args.erase(args.begin());
  if (verb == "open") return WorkspaceOpen(invocation, args);
  if (verb == "list") return WorkspaceList(invocation, args);
  if (verb == "close") return WorkspaceClose(invocation, args);
  return Fail(invocation.config, "usage: kura workspace open|list|close");
}

int OutputsCommand(const Invocation& invocation) {
  const ClientConfig& config = invocation.config;
  std::vector<std::string> args = invocation.args;
  absl::StatusOr<std::string> id = ChooseWorkspace(config, args);
  if (!id.ok()) return FailStatus(config, id.status());
  absl::StatusOr<std::unique_ptr<GatewayClient>> client = ConnectWithSession(config);
  if (!client.ok()) return FailStatus(config, client.status());
  kura::v1::ListOutputsRequest request;
  request.set_workspace_id(*id);
  kura::v1::ListOutputsResponse response;
  auto context = (*client)->Context(kCallTimeout);
  grpc::Status status = (*client)->stub().ListOutputs(context.get(), request, &response);
  if (!status.ok()) return FailCall(config, status);
  if (config.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& file : response.files()) {
      list.push_back({{"path", file.path()},
                      {"size", file.size()},
                      {"sha256", file.sha256()},
                      {"modified_unix", file.modified_unix()}});
    }
    PrintJson(list);
    return 0;
  }
  if (response.files().empty()) std::printf("/outputs of %s is empty\n", id->c_str());
  for (const auto& file : response.files()) {
    std::printf("%10llu  %s  /outputs/%s\n", static_cast<unsigned long long>(file.size()),
                file.sha256().substr(0, 16).c_str(), file.path().c_str());
  }
  return 0;
}

}  // namespace kura::cli
