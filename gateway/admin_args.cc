#include "gateway/admin_args.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace kura::gateway {

absl::StatusOr<AdminArgs> AdminArgs::Parse(const std::vector<std::string>& args) {
  AdminArgs parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!absl::StartsWith(arg, "--") || arg == "--") {
      parsed.positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::string value;
    size_t eq = name.find('=');
    if (eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
    }
    parsed.ordered_.emplace_back(name, value);
  }
  return parsed;
}

std::optional<std::string> AdminArgs::Flag(absl::string_view name) const {
  std::optional<std::string> last;
  for (const auto& [n, v] : ordered_) {
    if (n == name) last = v;
  }
  return last;
}

std::vector<std::string> AdminArgs::Flags(absl::string_view name) const {
  std::vector<std::string> values;
  for (const auto& [n, v] : ordered_) {
    if (n == name) values.push_back(v);
  }
  return values;
}

absl::Status AdminArgs::CheckOnly(const std::vector<std::string>& allowed) const {
  for (const auto& [name, value] : ordered_) {
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown option --", name));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> AdminArgs::Required(absl::string_view name) const {
  std::optional<std::string> value = Flag(name);
  if (!value.has_value() || value->empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--", name, " is required"));
  }
  return *value;
}

}  // namespace kura::gateway
