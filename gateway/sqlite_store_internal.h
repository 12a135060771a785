#pragma once

// Helpers shared by the .cc files of SqliteStore; not part of kura_gateway's interface.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gateway/records.h"
#include "gateway/sqlite_db.h"

namespace kura::gateway::sqlite_internal {

// The migrations, in order: entry i brings the schema from version i to i + 1.
const std::vector<std::string>& Migrations();

inline SqlValue Micros(absl::Time t) { return absl::ToUnixMicros(t); }
inline SqlValue OptionalMicros(const std::optional<absl::Time>& t) {
  if (!t.has_value()) return std::monostate();
  return absl::ToUnixMicros(*t);
}
inline absl::Time TimeAt(const SqlRow& row, int column) {
  return absl::FromUnixMicros(row.Int(column));
}
inline std::optional<absl::Time> OptionalTimeAt(const SqlRow& row, int column) {
  std::optional<int64_t> us = row.OptionalInt(column);
  if (!us.has_value()) return std::nullopt;
  return absl::FromUnixMicros(*us);
}
inline SqlValue Text(absl::string_view s) { return std::string(s); }

inline absl::Status NotFound(absl::string_view what, absl::string_view key) {
  return absl::NotFoundError(absl::StrCat("no ", what, " '", key, "'"));
}

// Devices as a JSON array of {"kind","model","id"} objects.
std::string DevicesToJson(const std::vector<Device>& devices);
absl::StatusOr<std::vector<Device>> DevicesFromJson(absl::string_view json);

}  // namespace kura::gateway::sqlite_internal
