#pragma once

// The table specification: what a submitted output table claims to be (which schema table,
// grouped by which dimensions, which statistic of which column, over which filtered rows).
// The checker recomputes the table from it. See docs/table-spec.md.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "disclosure/schema.h"

namespace kura::disclosure {

enum class Statistic { kCount, kSum, kMean, kMedian, kMin, kMax, kStd, kMode, kRegression };

absl::string_view StatisticName(Statistic statistic);

// Frequency tables (count) are judged by threshold and zeros; the others are magnitude tables.
inline bool IsMagnitude(Statistic s) {
  return s != Statistic::kCount && s != Statistic::kRegression;
}

enum class FilterOp { kEq, kNe, kLt, kLe, kGt, kGe, kIn };

// One row condition. Values compare as numbers when both sides read as numbers, else as text.
struct Filter {
  std::string column;
  FilterOp op = FilterOp::kEq;
  std::vector<std::string> values;  // One value, or the list for `in`.
  std::vector<double> numbers;      // values[i] as a number, when all of them are numbers.
  bool numeric = false;

  // Whether a field passes this condition.
  bool Matches(absl::string_view field) const;
};

// A parsed specification. Plain value; thread-compatible.
struct TableSpec {
  std::string source;  // The spec file, for errors.
  std::string schema;
  std::string table;
  std::string output;  // The submitted file this spec describes (matched by base name).
  std::vector<std::string> rows;
  std::vector<std::string> cols;
  Statistic statistic = Statistic::kCount;
  std::string value;                    // The value column; the dependent one for a regression.
  std::vector<std::string> covariates;  // Regression only.
  std::vector<Filter> filters;
  // Cells known to be empty by construction, each a partial key {dimension: value}; exempt from
  // the zeros rule.
  std::vector<std::map<std::string, std::string>> structural_zeros;
  std::optional<double> tolerance;  // Absolute tolerance for submitted real numbers.

  // rows then cols.
  std::vector<std::string> Dimensions() const;
  // Whether the cell with `key` (values in Dimensions() order) is a declared structural zero.
  bool IsStructuralZero(const std::vector<std::string>& key) const;
};

// Parses a spec; InvalidArgument names `source` and the JSON path of a bad field.
absl::StatusOr<TableSpec> ParseTableSpec(absl::string_view json_text, absl::string_view source);

// Reads and parses the spec file at `path`.
absl::StatusOr<TableSpec> LoadTableSpec(const std::string& path);

// Checks a spec against the schema: same schema name, the table exists, every column named
// exists in the table's header, and no dimension or value is the unit or holding column.
absl::Status ValidateTableSpec(const TableSpec& spec, const Schema& schema,
                               const std::vector<std::string>& header);

}  // namespace kura::disclosure
