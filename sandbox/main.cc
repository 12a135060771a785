// kura-sandbox: runs one command in a kura sandbox. Parses flags, calls the library, and turns
// the result into an exit status (see sandbox/cli_flags.h and docs/sandbox.md).
#include <sys/ioctl.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sandbox/cgroup.h"
#include "sandbox/cli_flags.h"
#include "sandbox/foreground.h"
#include "sandbox/sandbox.h"

namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("cannot read " + path + ": " + std::strerror(errno));
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

int Run(const std::vector<std::string>& args) {
  absl::StatusOr<kura::v1::SandboxSpec> spec = kura::sandbox::ParseRunFlags(args, ReadFile);
  if (!spec.ok()) {
    std::cerr << "kura-sandbox: " << spec.status().message() << "\n" << kura::sandbox::RunUsage();
    return kura::sandbox::kExitUsage;
  }
  if (spec->limits().disk_bytes() > 0) {
    for (const kura::v1::Mount& mount : spec->mounts()) {
      if (mount.kind() == kura::v1::Mount::BIND && !mount.read_only()) {
        std::cerr << "kura-sandbox: note: --disk caps tmpfs mounts; the writable bind of "
                  << mount.target() << " is bounded per file only (--fsize)\n";
      }
    }
  }
  winsize size{};
  if (spec->tty() && !spec->has_terminal_size() && ioctl(0, TIOCGWINSZ, &size) == 0) {
    spec->mutable_terminal_size()->set_rows(size.ws_row);
    spec->mutable_terminal_size()->set_cols(size.ws_col);
  }
  kura::sandbox::SetPreparedCgroups(0);  // one sandbox per process: nothing to prepare
  absl::StatusOr<kura::sandbox::Sandbox> sandbox = kura::sandbox::Launch(*spec);
  if (!sandbox.ok()) {
    std::cerr << "kura-sandbox: " << sandbox.status().message() << "\n";
    return sandbox.status().code() == absl::StatusCode::kInvalidArgument
               ? kura::sandbox::kExitUsage
               : kura::sandbox::kExitSetupFailed;
  }
  absl::StatusOr<kura::v1::SandboxResult> result = kura::sandbox::RunInForeground(*sandbox);
  if (!result.ok()) {
    std::cerr << "kura-sandbox: " << result.status().message() << "\n";
    return kura::sandbox::kExitSetupFailed;
  }
  std::string why = kura::sandbox::DescribeResult(*result);
  if (!why.empty()) std::cerr << why << "\n";
  return kura::sandbox::ExitCodeFor(*result);
}

}  // namespace

int main(int argc, char** argv) {
  kura::sandbox::BlockForwardedSignals();  // before any thread exists
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::cout << kura::sandbox::RunUsage();
    return args.empty() ? kura::sandbox::kExitUsage : 0;
  }
  if (args[0] != "run") {
    std::cerr << "kura-sandbox: unknown command \"" << args[0] << "\"\n"
              << kura::sandbox::RunUsage();
    return kura::sandbox::kExitUsage;
  }
  args.erase(args.begin());
  return Run(args);
}
