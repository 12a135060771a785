#pragma once

// Reading kura's JSON documents (manifest, table spec, policy) with errors that name the
// document and the JSON path of the offending field: "spec.json: filter[1].op: ...".
// nlohmann::json throws; every parse goes through ParseJson, the one place that catches.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "disclosure/file_io.h"
#include "nlohmann/json.hpp"

namespace kura::disclosure {

// Parses `text`; a syntax error gives InvalidArgument "source: line L, column C: ...".
absl::StatusOr<nlohmann::json> ParseJson(absl::string_view text, absl::string_view source);

// Reads and parses the file at `path`; NotFound when it does not exist.
absl::StatusOr<nlohmann::json> ReadJsonFile(const std::string& path);

// Field accessors over an object at JSON path `where`. Each returns InvalidArgument
// "where.key: ..." for a wrong type; Get* also for a missing key.
class JsonObject {
 public:
  // InvalidArgument unless `value` is an object. Unknown keys are refused when `allowed` is
  // non-empty, so that a misspelled field never passes silently.
  static absl::StatusOr<JsonObject> Of(const nlohmann::json& value, std::string where,
                                       std::vector<std::string> allowed = {});

  bool Has(const std::string& key) const;
  std::string Path(const std::string& key) const;
  absl::StatusOr<std::string> GetString(const std::string& key) const;
  absl::StatusOr<std::string> GetStringOr(const std::string& key, std::string fallback) const;
  absl::StatusOr<double> GetNumberOr(const std::string& key, double fallback) const;
  absl::StatusOr<bool> GetBoolOr(const std::string& key, bool fallback) const;
  // An array of strings; a missing key gives an empty list.
  absl::StatusOr<std::vector<std::string>> GetStringList(const std::string& key) const;
  // The raw member (null when missing).
  const nlohmann::json& Get(const std::string& key) const;
  const std::string& where() const { return where_; }

 private:
  JsonObject(const nlohmann::json* value, std::string where)
      : value_(value), where_(std::move(where)) {}
  absl::Status TypeError(const std::string& key, absl::string_view expected) const;

  const nlohmann::json* value_;
  std::string where_;
};

}  // namespace kura::disclosure
