#include "cli/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "nlohmann/json.hpp"

namespace kura::cli {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : "";
}

std::string DefaultConfigDir() {
  std::string base = Env("XDG_CONFIG_HOME");
  if (base.empty()) base = absl::StrCat(Env("HOME"), "/.config");
  return base + "/kura";
}

std::string Resolve(const std::string& dir, const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  return absl::StrCat(dir, "/", path);
}

std::optional<std::string> ReadSmallFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream contents;
  contents << in.rdbuf();
  return std::string(absl::StripAsciiWhitespace(contents.str()));
}

absl::Status WritePrivateFile(const std::string& dir, const std::string& name,
                              const std::string& contents) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return ErrnoError("mkdir", dir);
  const std::string path = absl::StrCat(dir, "/", name);
  const std::string temporary = absl::StrCat(path, ".new");
  unlink(temporary.c_str());
  UniqueFd fd(open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) return ErrnoError("open", temporary);
  const std::string line = contents + "\n";
  if (write(fd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    return ErrnoError("write", temporary);
  }
  fd.Reset();
  if (rename(temporary.c_str(), path.c_str()) != 0) return ErrnoError("rename", path);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ClientConfig> LoadClientConfig(const ConfigFlags& flags) {
  ClientConfig config;
  config.json = flags.json;
  config.config_dir = !flags.config_dir.empty()        ? flags.config_dir
                      : !Env("KURA_CONFIG_DIR").empty() ? Env("KURA_CONFIG_DIR")
                                                        : DefaultConfigDir();
  const std::string file = config.config_dir + "/config.json";
  if (std::optional<std::string> text = ReadSmallFile(file); text.has_value()) {
    nlohmann::json json = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(file, " is not a JSON object"));
    }
    auto field = [&](const char* key) -> std::string {
      auto it = json.find(key);
      return it != json.end() && it->is_string() ? it->get<std::string>() : "";
    };
    config.gateway = field("gateway");
    config.ca_path = Resolve(config.config_dir, field("ca"));
    config.cert_path = Resolve(config.config_dir, field("cert"));
    config.key_path = Resolve(config.config_dir, field("key"));
    config.user = field("user");
  }
  if (!Env("KURA_GATEWAY").empty()) config.gateway = Env("KURA_GATEWAY");
  if (!flags.gateway.empty()) config.gateway = flags.gateway;
  if (!flags.ca_path.empty()) config.ca_path = flags.ca_path;
  if (!flags.cert_path.empty()) config.cert_path = flags.cert_path;
  if (!flags.key_path.empty()) config.key_path = flags.key_path;
  return config;
}

absl::StatusOr<std::string> LoadToken(const ClientConfig& config) {
  std::optional<std::string> token = ReadSmallFile(config.config_dir + "/token");
  if (!token.has_value() || token->empty()) return absl::NotFoundError("no saved session");
  return *token;
}

absl::Status SaveToken(const ClientConfig& config, const std::string& token) {
  return WritePrivateFile(config.config_dir, "token", token);
}

void ForgetToken(const ClientConfig& config) { unlink((config.config_dir + "/token").c_str()); }

std::optional<std::string> CurrentWorkspace(const ClientConfig& config) {
  std::optional<std::string> id = ReadSmallFile(config.config_dir + "/workspace");
  if (id.has_value() && id->empty()) return std::nullopt;
  return id;
}

absl::Status SaveCurrentWorkspace(const ClientConfig& config, const std::string& id) {
  return WritePrivateFile(config.config_dir, "workspace", id);
}

void ForgetCurrentWorkspace(const ClientConfig& config) {
  unlink((config.config_dir + "/workspace").c_str());
}

}  // namespace kura::cli
