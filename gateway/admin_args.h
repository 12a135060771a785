#pragma once

// The command line of kura-admin: positional words and `--flag value` / `--flag=value`
// options, some repeatable (--role, --dns, --ip). Every option takes a value. Thread-compatible.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kura::gateway {

class AdminArgs final {
 public:
  // InvalidArgument for an option without a value.
  static absl::StatusOr<AdminArgs> Parse(const std::vector<std::string>& args);

  const std::vector<std::string>& positional() const { return positional_; }
  // The last value of --name, if given.
  std::optional<std::string> Flag(absl::string_view name) const;
  // Every value of --name, in order.
  std::vector<std::string> Flags(absl::string_view name) const;
  // InvalidArgument naming an option not in `allowed`.
  absl::Status CheckOnly(const std::vector<std::string>& allowed) const;
  // The value of --name, or InvalidArgument saying it is required.
  absl::StatusOr<std::string> Required(absl::string_view name) const;

 private:
  std::vector<std::string> positional_;
  std::vector<std::pair<std::string, std::string>> ordered_;
};

}  // namespace kura::gateway
