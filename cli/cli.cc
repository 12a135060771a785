#include "cli/cli.h"

#include <cstdio>

#include "absl/strings/match.h"
#include "common/tls.h"

namespace kura::cli {
namespace {

constexpr char kUsage[] =
    "usage: kura [--gateway HOST:PORT] [--config-dir DIR] [--ca F --cert F --key F] [--json]\n"
    "            COMMAND [ARGS]\n"
    "commands:\n"
    "  login [USER] [--totp CODE | --broker-assertion FILE]\n"
    "                                    log in from this terminal (asks for the code)\n"
    "  logout                            end the session\n"
    "  projects                          your projects and the schemas granted now\n"
    "  workspace open PROJECT [--cpus N] [--memory GIB] [--gpus N] [--device KIND=N]... [--schema NAME]...\n"
    "  workspace list [PROJECT]\n"
    "  workspace close [ID]\n"
    "  shell [--workspace ID] [-- CMD...]  an interactive shell in the workspace\n"
    "  run [--workspace ID] [--cwd DIR] -- CMD...   a batch job; its exit code is kura's\n"
    "  upload FILE [DEST]                code or scripts into your project home\n"
    "  outputs [--workspace ID]          files in /outputs (the export quarantine)\n"
    "  export request FILE... --justification TEXT [--spec SPEC.json]... [--workspace ID]\n"
    "  export list [--project P] | withdraw ID | download ID --to DIR\n"
    "  export show ID [--version N] [--files] [--save DIR] [--all-cells]\n"
    "  export comment ID [--file F] TEXT...\n"
    "  export resubmit ID [FILE...] [--justification TEXT] [--spec SPEC.json]...\n"
    "  review list\n"
    "  review show ID [--version N] [--save DIR] [--all-cells]\n"
    "                                    the report, each file shown or saved, votes, comments\n"
    "  review get ID FILE [--version N] --to PATH\n"
    "  review vote ID FILE approve|request_changes|reject [--comment TEXT] [--override REASON]\n"
    "  review comment ID [--file F] [--version N] TEXT...\n"
    "  verify DIR [--key RELEASE_PUB]    check a release's signature and hashes, offline\n"
    "environment: KURA_GATEWAY, KURA_CONFIG_DIR (default ~/.config/kura)\n";

int Usage() {
  std::fputs(kUsage, stderr);
  return 2;
}

}  // namespace

int RunKura(const std::vector<std::string>& args) {
  ConfigFlags flags;
  size_t i = 0;
  for (; i < args.size() && absl::StartsWith(args[i], "--"); ++i) {
    const std::string& flag = args[i];
    if (flag == "--json") {
      flags.json = true;
      continue;
    }
    if (flag == "--help") return Usage(), 0;
    if (i + 1 >= args.size()) return Usage();
    const std::string& value = args[++i];
    if (flag == "--gateway") {
      flags.gateway = value;
    } else if (flag == "--config-dir") {
      flags.config_dir = value;
    } else if (flag == "--ca") {
      flags.ca_path = value;
    } else if (flag == "--cert") {
      flags.cert_path = value;
    } else if (flag == "--key") {
      flags.key_path = value;
    } else {
      std::fprintf(stderr, "kura: unknown option %s\n", flag.c_str());
      return Usage();
    }
  }
  if (i >= args.size()) return Usage();
  const std::string command = args[i];
  Invocation invocation;
  invocation.args.assign(args.begin() + static_cast<long>(i) + 1, args.end());
  // `--json` may also follow the command.
  for (auto it = invocation.args.begin(); it != invocation.args.end(); ++it) {
    if (*it == "--") break;
    if (*it == "--json") {
      flags.json = true;
      invocation.args.erase(it);
      break;
    }
  }
  absl::StatusOr<ClientConfig> config = LoadClientConfig(flags);
  if (!config.ok()) {
    std::fprintf(stderr, "kura: %s\n", std::string(config.status().message()).c_str());
    return 1;
  }
  invocation.config = *std::move(config);
  if (command == "verify") return VerifyCommand(invocation);
  if (absl::Status tls = RequireTls13(); !tls.ok()) {
    std::fprintf(stderr, "kura: %s\n", std::string(tls.message()).c_str());
    return 1;
  }
  if (command == "login") return LoginCommand(invocation);
  if (command == "logout") return LogoutCommand(invocation);
  if (command == "projects") return ProjectsCommand(invocation);
  if (command == "workspace" || command == "workspaces") return WorkspaceCommand(invocation);
  if (command == "outputs") return OutputsCommand(invocation);
  if (command == "run") return RunCommand(invocation);
  if (command == "shell") return ShellCommand(invocation);
  if (command == "upload") return UploadCommand(invocation);
  if (command == "export") return ExportCommand(invocation);
  if (command == "review") return ReviewCommand(invocation);
  std::fprintf(stderr, "kura: unknown command '%s'\n", command.c_str());
  return Usage();
}

}  // namespace kura::cli
