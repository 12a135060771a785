#pragma once

// The output table a researcher submits, read against its spec: long form (the dimensions, then
// one value column, one line per cell) or wide form (the row dimensions, then one column per
// value of the single column dimension).

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "disclosure/csv_reader.h"
#include "disclosure/table_spec.h"

namespace kura::disclosure {

struct SubmittedCell {
  std::vector<std::string> key;  // In TableSpec::Dimensions() order.
  size_t row = 0;                // Position of the value in `document`.
  size_t column = 0;
  int64_t line = 0;
};

// Thread-compatible value.
struct SubmittedTable {
  CsvDocument document;
  char delimiter = ',';
  bool wide = false;
  std::vector<SubmittedCell> cells;

  const std::string& ValueOf(const SubmittedCell& cell) const {
    return document.rows[cell.row][cell.column];
  }
};

// Reads `path` as the table `spec` describes. InvalidArgument names the file and line for
// malformed CSV, a header that is neither form, and a cell given twice.
absl::StatusOr<SubmittedTable> ReadSubmittedTable(const std::string& path, const TableSpec& spec);

// Same, from a parsed document.
absl::StatusOr<SubmittedTable> InterpretSubmittedTable(CsvDocument document,
                                                       absl::string_view source,
                                                       const TableSpec& spec);

}  // namespace kura::disclosure
