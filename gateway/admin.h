#pragma once

// kura-admin: the operator's offline commands against the store file and the PKI directory.
// main() only collects argv and calls RunAdmin. Every command that changes the store writes an
// audit event (outcome ok or failed) with the operating system user as actor.
//
// Exit codes (docs/operations.md): 0 done; 1 the command failed (message on stderr);
// 2 the command line is wrong (unknown command or option, a missing or malformed argument,
// a given file that is not what it should be); 3 `audit verify` found the chain broken.

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace kura::gateway {

inline constexpr int kAdminExitOk = 0;
inline constexpr int kAdminExitFailed = 1;
inline constexpr int kAdminExitUsage = 2;
inline constexpr int kAdminExitAuditBroken = 3;

struct AdminEnvironment {
  std::ostream& out;
  std::ostream& err;
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  std::string actor;  // "os-user:<name>"; main() fills it in
};

// Runs one command; `args` excludes the program name.
int RunAdmin(const std::vector<std::string>& args, AdminEnvironment& env);

}  // namespace kura::gateway
