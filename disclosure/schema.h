#pragma once

// The schema manifest: the contract between the operator who registers a dataset and every part
// of kura that reads it (the gateway at registration, the sandbox at mount, the disclosure
// checker at export). See docs/schema-manifest.md.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kura::disclosure {

enum class DataClass { kAnonymized, kPseudonymized };

// What a column is to disclosure control. `direct_identifier` exists only to be refused.
enum class ColumnRole { kUnitId, kHoldingId, kQuasiIdentifier, kSensitive, kMeasure };

absl::string_view DataClassName(DataClass data_class);
absl::string_view ColumnRoleName(ColumnRole role);

struct SchemaColumn {
  std::string name;
  ColumnRole role = ColumnRole::kQuasiIdentifier;
};

struct SchemaTable {
  std::string name;
  std::string file;                   // Relative to the schema directory; a plain file name.
  std::string path;                   // Directory joined with `file`.
  std::vector<SchemaColumn> columns;  // As declared in the manifest.

  // The role of `column`; columns the manifest does not list are quasi-identifiers.
  ColumnRole RoleOf(absl::string_view column) const;
  // The column with role unit_id, or empty when the table has none.
  std::string UnitColumn() const;
  // The columns with role holding_id, in manifest order.
  std::vector<std::string> HoldingColumns() const;
};

// A registered dataset. Plain value; thread-compatible.
struct Schema {
  std::string name;
  DataClass data_class = DataClass::kAnonymized;
  std::string dir;
  std::vector<SchemaTable> tables;

  // Returns nullptr when the schema has no table of that name.
  const SchemaTable* FindTable(absl::string_view table) const;
};

// Parses a manifest's text. `source` names it in errors ("claims/schema.json"); `dir` is the
// directory the table files are relative to. Returns InvalidArgument naming the JSON path of the
// bad field for: malformed JSON, missing or mistyped fields, an unknown data class or role, a
// `direct_identifier` column (refused), a duplicated table or column, more than one unit_id
// column in a table, or a table file that is not a plain name inside the directory.
absl::StatusOr<Schema> ParseSchema(absl::string_view json_text, absl::string_view source,
                                   const std::string& dir);

// Reads `dir`/schema.json, parses it, and checks that every table file exists and that its CSV
// header holds every column the manifest lists. NotFound when the manifest or a table file is
// missing; InvalidArgument as for ParseSchema and for a listed column absent from the header.
absl::StatusOr<Schema> LoadSchema(const std::string& dir);

// Reads every record of every table of a loaded schema, as registration should before a schema
// is offered to anyone: InvalidArgument names the file, line and field of the first malformed
// record (field count, quoting, UTF-8). `threads` parts of a table are read in parallel.
absl::Status VerifySchemaData(const Schema& schema, int threads = 2);

}  // namespace kura::disclosure
