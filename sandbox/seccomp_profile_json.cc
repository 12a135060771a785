// JSON profiles for `kura-sandbox --seccomp FILE` (format in docs/seccomp.md). The file is
// untrusted input: every error names the field it is about.

#include <cerrno>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "nlohmann/json.hpp"
#include "sandbox/seccomp_profile.h"

namespace kura::sandbox {
namespace {

using Json = nlohmann::json;

absl::Status FieldError(const std::string& field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("seccomp profile: ", field, ": ", what));
}

absl::StatusOr<SeccompAction> ParseAction(const Json& value, const std::string& field) {
  if (value.is_string()) {
    const std::string& s = value.get_ref<const std::string&>();
    if (s == "allow") return SeccompAction::kAllow;
    if (s == "deny") return SeccompAction::kDeny;
    if (s == "errno") return SeccompAction::kErrno;
  }
  return FieldError(field, "must be \"allow\", \"deny\" or \"errno\"");
}

absl::StatusOr<uint64_t> ParseUnsigned(const Json& value, const std::string& field) {
  if (!value.is_number_unsigned() && !(value.is_number_integer() && value.get<int64_t>() >= 0)) {
    return FieldError(field, "must be a non-negative integer");
  }
  return value.get<uint64_t>();
}

absl::StatusOr<SeccompArgCheck::Op> ParseOp(const Json& value, const std::string& field) {
  using Op = SeccompArgCheck::Op;
  static const std::pair<const char*, Op> kOps[] = {
      {"eq", Op::kEq},
      {"ne", Op::kNe},
      {"lt", Op::kLt},
      {"le", Op::kLe},
      {"gt", Op::kGt},
      {"ge", Op::kGe},
      {"masked_eq", Op::kMaskedEq},
  };
  if (value.is_string()) {
    for (const auto& [name, op] : kOps) {
      if (value.get_ref<const std::string&>() == name) return op;
    }
  }
  return FieldError(field, "must be one of eq, ne, lt, le, gt, ge, masked_eq");
}

absl::Status CheckKeys(const Json& object, const std::string& field,
                       std::initializer_list<const char*> known) {
  for (const auto& [key, unused] : object.items()) {
    bool found = false;
    for (const char* k : known) found = found || key == k;
    if (!found) return FieldError(absl::StrCat(field, ".", key), "unknown field");
  }
  return absl::OkStatus();
}

absl::StatusOr<SeccompArgCheck> ParseArgCheck(const Json& value, const std::string& field) {
  if (!value.is_object()) return FieldError(field, "must be an object");
  KURA_RETURN_IF_ERROR(CheckKeys(value, field, {"index", "op", "value", "mask"}));
  SeccompArgCheck check;
  if (!value.contains("index")) return FieldError(field + ".index", "missing");
  KURA_ASSIGN_OR_RETURN(uint64_t index, ParseUnsigned(value["index"], field + ".index"));
  if (index > 5) return FieldError(field + ".index", "must be 0 to 5");
  check.index = static_cast<unsigned>(index);
  if (!value.contains("op")) return FieldError(field + ".op", "missing");
  KURA_ASSIGN_OR_RETURN(check.op, ParseOp(value["op"], field + ".op"));
  if (!value.contains("value")) return FieldError(field + ".value", "missing");
  KURA_ASSIGN_OR_RETURN(check.value, ParseUnsigned(value["value"], field + ".value"));
  if (check.op == SeccompArgCheck::Op::kMaskedEq) {
    if (!value.contains("mask")) return FieldError(field + ".mask", "missing for masked_eq");
    KURA_ASSIGN_OR_RETURN(check.mask, ParseUnsigned(value["mask"], field + ".mask"));
  } else if (value.contains("mask")) {
    return FieldError(field + ".mask", "only for masked_eq");
  }
  return check;
}

absl::StatusOr<SeccompRule> ParseRule(const Json& value, const std::string& field) {
  if (!value.is_object()) return FieldError(field, "must be an object");
  KURA_RETURN_IF_ERROR(CheckKeys(value, field, {"action", "errno", "syscalls", "args"}));
  SeccompRule rule;
  if (!value.contains("action")) return FieldError(field + ".action", "missing");
  KURA_ASSIGN_OR_RETURN(rule.action, ParseAction(value["action"], field + ".action"));
  if (rule.action == SeccompAction::kErrno) {
    if (!value.contains("errno")) return FieldError(field + ".errno", "missing for errno");
    KURA_ASSIGN_OR_RETURN(uint64_t e, ParseUnsigned(value["errno"], field + ".errno"));
    if (e < 1 || e > 4095) return FieldError(field + ".errno", "must be 1 to 4095");
    rule.errno_value = static_cast<int>(e);
  } else if (value.contains("errno")) {
    return FieldError(field + ".errno", "only for action errno");
  }
  const std::string syscalls_field = field + ".syscalls";
  if (!value.contains("syscalls") || !value["syscalls"].is_array() || value["syscalls"].empty()) {
    return FieldError(syscalls_field, "must be a non-empty array of syscall names");
  }
  for (size_t i = 0; i < value["syscalls"].size(); ++i) {
    const Json& name = value["syscalls"][i];
    if (!name.is_string() || name.get_ref<const std::string&>().empty()) {
      return FieldError(absl::StrCat(syscalls_field, "[", i, "]"), "must be a syscall name");
    }
    rule.syscalls.push_back(name.get<std::string>());
  }
  if (value.contains("args")) {
    if (!value["args"].is_array()) return FieldError(field + ".args", "must be an array");
    for (size_t i = 0; i < value["args"].size(); ++i) {
      KURA_ASSIGN_OR_RETURN(SeccompArgCheck check,
                            ParseArgCheck(value["args"][i], absl::StrCat(field, ".args[", i, "]")));
      rule.args.push_back(check);
    }
  }
  return rule;
}

}  // namespace

absl::StatusOr<SeccompProfile> ParseSeccompProfileJson(absl::string_view json_text) {
  Json doc = Json::parse(json_text.begin(), json_text.end(), /*cb=*/nullptr,
                         /*allow_exceptions=*/false);
  if (doc.is_discarded()) return absl::InvalidArgumentError("seccomp profile: not valid JSON");
  if (!doc.is_object()) return FieldError("(top)", "must be an object");
  KURA_RETURN_IF_ERROR(CheckKeys(doc, "(top)", {"name", "default_action", "max_syscall", "rules"}));

  SeccompProfile profile;
  if (!doc.contains("name") || !doc["name"].is_string() || doc["name"].get<std::string>().empty()) {
    return FieldError("name", "must be a non-empty string");
  }
  profile.name = doc["name"].get<std::string>();

  profile.default_action = SeccompAction::kDeny;
  if (doc.contains("default_action")) {
    KURA_ASSIGN_OR_RETURN(profile.default_action,
                          ParseAction(doc["default_action"], "default_action"));
    if (profile.default_action == SeccompAction::kErrno) {
      return FieldError("default_action", "must be \"allow\" or \"deny\"");
    }
  }

  profile.max_syscall = kAnalysisMaxSyscall;
  if (doc.contains("max_syscall")) {
    KURA_ASSIGN_OR_RETURN(uint64_t max, ParseUnsigned(doc["max_syscall"], "max_syscall"));
    if (max > kAnalysisMaxSyscall) {
      return FieldError("max_syscall", absl::StrCat("must be at most ", kAnalysisMaxSyscall,
                                                    " (the newest syscall kura knows)"));
    }
    profile.max_syscall = static_cast<uint32_t>(max);
  }

  if (!doc.contains("rules") || !doc["rules"].is_array()) {
    return FieldError("rules", "must be an array");
  }
  for (size_t i = 0; i < doc["rules"].size(); ++i) {
    KURA_ASSIGN_OR_RETURN(SeccompRule rule,
                          ParseRule(doc["rules"][i], absl::StrCat("rules[", i, "]")));
    profile.rules.push_back(std::move(rule));
  }
  return profile;
}

}  // namespace kura::sandbox
