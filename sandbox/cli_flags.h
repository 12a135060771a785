#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "kura/v1/sandbox.pb.h"

namespace kura::sandbox {

// Exit statuses of `kura-sandbox run` besides the command's own code and 128+N for a signal.
// They sit above what shells use (126, 127, 128+N up to 192) so they do not pass for those.
inline constexpr int kExitUsage = 2;        // bad flags or spec; nothing was started
inline constexpr int kExitOomKilled = 250;  // the kernel's OOM killer ended the sandbox
inline constexpr int kExitWallTimeExceeded = 251;
inline constexpr int kExitSetupFailed = 252;  // a setup step (or the launcher) failed
inline constexpr int kExitKilled = 253;       // killed on request

// Reads a whole file; injected so that flag parsing stays pure and testable.
using FileReader = std::function<absl::StatusOr<std::string>(const std::string& path)>;

// Parses the arguments of `kura-sandbox run` (everything after "run") into a spec. `--spec FILE`
// (SandboxSpec as JSON) is read first wherever it appears; the other flags then override its
// scalars and extend its lists, in order. The command follows "--" (or the first argument that
// is not a flag). Without --rootfs or --host-rootfs the root is an empty tmpfs holding only the
// mounts given (as with bwrap). InvalidArgument names the flag and the value at fault. Pure but for
// `read`.
absl::StatusOr<v1::SandboxSpec> ParseRunFlags(const std::vector<std::string>& args,
                                              const FileReader& read);

// "4096", "512K", "512M", "2G", "1T" (binary multiples; "Ki"/"KiB"/"KB" spellings too).
absl::StatusOr<uint64_t> ParseSize(absl::string_view text);

// A SandboxSpec from its JSON form (protobuf's JSON mapping: "argv", "hostRootfs", ...).
absl::StatusOr<v1::SandboxSpec> SpecFromJson(const std::string& json);

// The exit status `kura-sandbox run` reports for a sandbox that ended with `result`.
int ExitCodeFor(const v1::SandboxResult& result);

// One line for stderr explaining a result that is not the command's own exit ("" otherwise).
std::string DescribeResult(const v1::SandboxResult& result);

// The usage text of `kura-sandbox`.
const char* RunUsage();

}  // namespace kura::sandbox
