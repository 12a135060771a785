#pragma once

// The kura command as a library: `kura [global flags] COMMAND [args]`. main.cc only hands it
// argv. Each command returns the process exit code: 0 on success, 1 when the gateway refused
// or failed (with a sentence on stderr), 2 for a usage error, and for `run` and `shell` the
// workload's own exit code.

#include <string>
#include <vector>

#include "cli/config.h"

namespace kura::cli {

int RunKura(const std::vector<std::string>& args);

// One command's inputs: the merged configuration and the arguments after the command name.
struct Invocation {
  ClientConfig config;
  std::vector<std::string> args;
};

int LoginCommand(const Invocation& invocation);
int LogoutCommand(const Invocation& invocation);
int ProjectsCommand(const Invocation& invocation);
int WorkspaceCommand(const Invocation& invocation);
int OutputsCommand(const Invocation& invocation);
int RunCommand(const Invocation& invocation);
int ShellCommand(const Invocation& invocation);
int UploadCommand(const Invocation& invocation);
int ExportCommand(const Invocation& invocation);
int ReviewCommand(const Invocation& invocation);
// Offline: checks a release directory's signature and hashes (docs/export.md).
int VerifyCommand(const Invocation& invocation);

}  // namespace kura::cli
