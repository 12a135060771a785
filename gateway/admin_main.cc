// kura-admin: the operator's offline tool. See gateway/admin.h and docs/operations.md.

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gateway/admin.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  const char* user = std::getenv("USER");
  std::string actor =
      absl::StrCat("os-user:", user != nullptr && *user != '\0' ? std::string(user)
                                                                : absl::StrCat("uid-", getuid()));
  kura::gateway::AdminEnvironment env{std::cout, std::cerr, [] { return absl::Now(); }, actor};
  return kura::gateway::RunAdmin(args, env);
}
