#include "disclosure/json_util.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"

namespace kura::disclosure {

absl::StatusOr<nlohmann::json> ParseJson(absl::string_view text, absl::string_view source) {
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." -> "line 1, ..."
    const size_t at = what.find(" at line ");
    if (at != std::string::npos) what = what.substr(at + 4);
    return absl::InvalidArgumentError(absl::StrCat(source, ": invalid JSON: ", what));
  }
}

absl::StatusOr<nlohmann::json> ReadJsonFile(const std::string& path) {
  KURA_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseJson(text, path);
}

absl::StatusOr<JsonObject> JsonObject::Of(const nlohmann::json& value, std::string where,
                                          std::vector<std::string> allowed) {
  if (!value.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": expected a JSON object"));
  }
  if (!allowed.empty()) {
    for (const auto& item : value.items()) {
      if (std::find(allowed.begin(), allowed.end(), item.key()) == allowed.end()) {
        return absl::InvalidArgumentError(absl::StrCat(where, ".", item.key(),
                                                       ": unknown field (expected one of ",
                                                       absl::StrJoin(allowed, ", "), ")"));
      }
    }
  }
  return JsonObject(&value, std::move(where));
}

bool JsonObject::Has(const std::string& key) const {
  return value_->contains(key) && !(*value_)[key].is_null();
}

std::string JsonObject::Path(const std::string& key) const {
  return absl::StrCat(where_, ".", key);
}

const nlohmann::json& JsonObject::Get(const std::string& key) const {
  static const nlohmann::json kNull;
  auto it = value_->find(key);
  return it == value_->end() ? kNull : *it;
}

absl::Status JsonObject::TypeError(const std::string& key, absl::string_view expected) const {
  return absl::InvalidArgumentError(
      absl::StrCat(Path(key), ": expected ", expected, ", found ", Get(key).type_name()));
}

absl::StatusOr<std::string> JsonObject::GetString(const std::string& key) const {
  if (!Has(key)) return absl::InvalidArgumentError(absl::StrCat(Path(key), ": missing"));
  if (!Get(key).is_string()) return TypeError(key, "a string");
  return Get(key).get<std::string>();
}

absl::StatusOr<std::string> JsonObject::GetStringOr(const std::string& key,
                                                    std::string fallback) const {
  if (!Has(key)) return fallback;
  return GetString(key);
}

absl::StatusOr<double> JsonObject::GetNumberOr(const std::string& key, double fallback) const {
  if (!Has(key)) return fallback;
  if (!Get(key).is_number()) return TypeError(key, "a number");
  return Get(key).get<double>();
}

absl::StatusOr<bool> JsonObject::GetBoolOr(const std::string& key, bool fallback) const {
  if (!Has(key)) return fallback;
  if (!Get(key).is_boolean()) return TypeError(key, "true or false");
  return Get(key).get<bool>();
}

absl::StatusOr<std::vector<std::string>> JsonObject::GetStringList(const std::string& key) const {
  std::vector<std::string> out;
  if (!Has(key)) return out;
  if (!Get(key).is_array()) return TypeError(key, "an array of strings");
  size_t i = 0;
  for (const auto& item : Get(key)) {
    if (!item.is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(Path(key), "[", i, "]: expected a string, found ", item.type_name()));
    }
    out.push_back(item.get<std::string>());
    ++i;
  }
  return out;
}

}  // namespace kura::disclosure
