#include "disclosure/schema.h"

#include <algorithm>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "disclosure/csv_reader.h"
#include "disclosure/json_util.h"

namespace kura::disclosure {
namespace {

absl::StatusOr<ColumnRole> ParseRole(absl::string_view text, const std::string& where) {
  if (text == "unit_id") return ColumnRole::kUnitId;
  if (text == "holding_id") return ColumnRole::kHoldingId;
  if (text == "quasi_identifier") return ColumnRole::kQuasiIdentifier;
  if (text == "sensitive") return ColumnRole::kSensitive;
  if (text == "measure") return ColumnRole::kMeasure;
  if (text == "direct_identifier") {
    return absl::InvalidArgumentError(absl::StrCat(
        where,
        ": direct identifiers are refused; remove the column from the dataset (kura holds "
        "only pseudonymized or anonymized data)"));
  }
  return absl::InvalidArgumentError(
      absl::StrCat(where, ": unknown role \"", text,
                   "\" (expected unit_id, holding_id, quasi_identifier, sensitive or measure)"));
}

absl::StatusOr<SchemaColumn> ParseColumn(const nlohmann::json& value, const std::string& where) {
  KURA_ASSIGN_OR_RETURN(JsonObject object,
                        JsonObject::Of(value, where, {"name", "role", "description"}));
  SchemaColumn column;
  KURA_ASSIGN_OR_RETURN(column.name, object.GetString("name"));
  if (column.name.empty()) return absl::InvalidArgumentError(absl::StrCat(where, ".name: empty"));
  KURA_ASSIGN_OR_RETURN(std::string role, object.GetString("role"));
  KURA_ASSIGN_OR_RETURN(column.role, ParseRole(role, object.Path("role")));
  return column;
}

absl::Status CheckTableFile(const std::string& file, const std::string& where) {
  if (file.empty() || file.find('/') != std::string::npos || file == "." || file == ".." ||
      file.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": \"", file, "\" must be a plain file name inside the schema directory"));
  }
  return absl::OkStatus();
}

absl::StatusOr<SchemaTable> ParseTable(const nlohmann::json& value, const std::string& where,
                                       const std::string& dir) {
  KURA_ASSIGN_OR_RETURN(JsonObject object,
                        JsonObject::Of(value, where, {"name", "file", "columns", "description"}));
  SchemaTable table;
  KURA_ASSIGN_OR_RETURN(table.name, object.GetString("name"));
  KURA_ASSIGN_OR_RETURN(table.file, object.GetString("file"));
  KURA_RETURN_IF_ERROR(CheckTableFile(table.file, object.Path("file")));
  table.path = absl::StrCat(dir.empty() ? "." : dir, "/", table.file);
  const nlohmann::json& columns = object.Get("columns");
  if (!columns.is_null() && !columns.is_array()) {
    return absl::InvalidArgumentError(absl::StrCat(object.Path("columns"), ": expected an array"));
  }
  absl::flat_hash_set<std::string> seen;
  int units = 0;
  for (size_t i = 0; !columns.is_null() && i < columns.size(); ++i) {
    const std::string at = absl::StrCat(object.Path("columns"), "[", i, "]");
    KURA_ASSIGN_OR_RETURN(SchemaColumn column, ParseColumn(columns[i], at));
    if (!seen.insert(column.name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat(at, ": column \"", column.name, "\" listed twice"));
    }
    if (column.role == ColumnRole::kUnitId && ++units > 1) {
      return absl::InvalidArgumentError(
          absl::StrCat(at, ": a table has at most one unit_id column"));
    }
    table.columns.push_back(std::move(column));
  }
  return table;
}

}  // namespace

absl::string_view DataClassName(DataClass data_class) {
  return data_class == DataClass::kAnonymized ? "anonymized" : "pseudonymized";
}

absl::string_view ColumnRoleName(ColumnRole role) {
  switch (role) {
    case ColumnRole::kUnitId:
      return "unit_id";
    case ColumnRole::kHoldingId:
      return "holding_id";
    case ColumnRole::kQuasiIdentifier:
      return "quasi_identifier";
    case ColumnRole::kSensitive:
      return "sensitive";
    case ColumnRole::kMeasure:
      return "measure";
  }
  return "quasi_identifier";
}

ColumnRole SchemaTable::RoleOf(absl::string_view column) const {
  for (const auto& c : columns) {
    if (c.name == column) return c.role;
  }
  return ColumnRole::kQuasiIdentifier;
}

std::string SchemaTable::UnitColumn() const {
  for (const auto& c : columns) {
    if (c.role == ColumnRole::kUnitId) return c.name;
  }
  return "";
}

std::vector<std::string> SchemaTable::HoldingColumns() const {
  std::vector<std::string> out;
  for (const auto& c : columns) {
    if (c.role == ColumnRole::kHoldingId) out.push_back(c.name);
  }
  return out;
}

const SchemaTable* Schema::FindTable(absl::string_view table) const {
  for (const auto& t : tables) {
    if (t.name == table) return &t;
  }
  return nullptr;
}

absl::StatusOr<Schema> ParseSchema(absl::string_view json_text, absl::string_view source,
                                   const std::string& dir) {
  KURA_ASSIGN_OR_RETURN(nlohmann::json json, ParseJson(json_text, source));
  const std::string root(source);
  KURA_ASSIGN_OR_RETURN(
      JsonObject object,
      JsonObject::Of(json, root, {"name", "data_class", "tables", "description"}));
  Schema schema;
  schema.dir = dir;
  KURA_ASSIGN_OR_RETURN(schema.name, object.GetString("name"));
  if (schema.name.empty())
    return absl::InvalidArgumentError(absl::StrCat(object.Path("name"), ": empty"));
  KURA_ASSIGN_OR_RETURN(std::string data_class, object.GetString("data_class"));
  if (data_class == "anonymized") {
    schema.data_class = DataClass::kAnonymized;
  } else if (data_class == "pseudonymized") {
    schema.data_class = DataClass::kPseudonymized;
  } else {
    return absl::InvalidArgumentError(absl::StrCat(object.Path("data_class"), ": \"", data_class,
                                                   "\" (expected anonymized or pseudonymized)"));
  }
  const nlohmann::json& tables = object.Get("tables");
  if (!tables.is_array() || tables.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(object.Path("tables"), ": expected a non-empty array"));
  }
  for (size_t i = 0; i < tables.size(); ++i) {
    const std::string at = absl::StrCat(object.Path("tables"), "[", i, "]");
    KURA_ASSIGN_OR_RETURN(SchemaTable table, ParseTable(tables[i], at, dir));
    if (schema.FindTable(table.name) != nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(at, ".name: table \"", table.name, "\" listed twice"));
    }
    schema.tables.push_back(std::move(table));
  }
  return schema;
}

absl::StatusOr<Schema> LoadSchema(const std::string& dir) {
  const std::string manifest = absl::StrCat(dir, "/schema.json");
  KURA_ASSIGN_OR_RETURN(std::string text, ReadFile(manifest));
  KURA_ASSIGN_OR_RETURN(Schema schema, ParseSchema(text, manifest, dir));
  for (size_t i = 0; i < schema.tables.size(); ++i) {
    const SchemaTable& table = schema.tables[i];
    KURA_ASSIGN_OR_RETURN(std::vector<std::string> header, ReadCsvHeader(table.path));
    for (size_t c = 0; c < table.columns.size(); ++c) {
      if (std::find(header.begin(), header.end(), table.columns[c].name) == header.end()) {
        return absl::InvalidArgumentError(absl::StrCat(manifest, ": tables[", i, "].columns[", c,
                                                       "]: column \"", table.columns[c].name,
                                                       "\" is not in the header of ", table.path));
      }
    }
  }
  return schema;
}

namespace {

class NoOpVisitor final : public RowVisitor {
 public:
  absl::Status OnRow(absl::Span<const absl::string_view>) override { return absl::OkStatus(); }
};

}  // namespace

absl::Status VerifySchemaData(const Schema& schema, int threads) {
  for (const auto& table : schema.tables) {
    KURA_ASSIGN_OR_RETURN(auto reader, CsvTableReader::Open(table.path, std::max(1, threads)));
    std::vector<absl::Status> results(static_cast<size_t>(reader->part_count()));
    std::vector<std::thread> workers;
    for (int p = 0; p < reader->part_count(); ++p) {
      workers.emplace_back([&, p] {
        NoOpVisitor visitor;
        results[static_cast<size_t>(p)] = reader->ScanPart(p, visitor);
      });
    }
    for (auto& w : workers) w.join();
    for (const auto& r : results) KURA_RETURN_IF_ERROR(r);
  }
  return absl::OkStatus();
}

}  // namespace kura::disclosure
