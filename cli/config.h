#pragma once

// Where the kura command finds its gateway, its terminal identity and its session.
//
// Precedence: command-line flags, then the environment (KURA_GATEWAY, KURA_CONFIG_DIR), then
// config.json in the configuration directory (--config-dir, KURA_CONFIG_DIR, or
// ~/.config/kura). config.json:
//   {"gateway": "host:port", "ca": "ca.crt", "cert": "terminal.crt", "key": "terminal.key",
//    "user": "alice"}
// Relative paths are relative to the configuration directory. The session token is kept in
// <config dir>/token (mode 0600) and the current workspace in <config dir>/workspace.
// Plain values and file I/O; thread-compatible.

#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace kura::cli {

struct ClientConfig {
  std::string config_dir;
  std::string gateway;
  std::string ca_path;
  std::string cert_path;
  std::string key_path;
  std::string user;
  bool json = false;
};

// What flags said; empty strings mean "not given".
struct ConfigFlags {
  std::string config_dir;
  std::string gateway;
  std::string ca_path;
  std::string cert_path;
  std::string key_path;
  bool json = false;
};

// Merges flags, environment and config.json. InvalidArgument when config.json is malformed;
// a missing file is fine (flags and environment may say everything).
absl::StatusOr<ClientConfig> LoadClientConfig(const ConfigFlags& flags);

// The saved session token; NotFound when there is none.
absl::StatusOr<std::string> LoadToken(const ClientConfig& config);
// Saves the token with mode 0600 (created so, never widened), replacing any earlier one.
absl::Status SaveToken(const ClientConfig& config, const std::string& token);
void ForgetToken(const ClientConfig& config);

// The workspace `kura workspace open` last opened; nullopt when none.
std::optional<std::string> CurrentWorkspace(const ClientConfig& config);
absl::Status SaveCurrentWorkspace(const ClientConfig& config, const std::string& id);
void ForgetCurrentWorkspace(const ClientConfig& config);

}  // namespace kura::cli
