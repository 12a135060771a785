#pragma once

// The recompute engine: rebuilds a declared table from the schema's own data, cell by cell,
// with the evidence the rules judge. Contributions are aggregated per unit first, so a patient
// with many claims in a cell is one contributor.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "disclosure/schema.h"
#include "disclosure/table_spec.h"

namespace kura::disclosure {

// What the data say about one cell.
struct CellEvidence {
  std::vector<std::string> key;  // Dimension values in TableSpec::Dimensions() order.
  int64_t rows = 0;              // Records that passed the filter.
  int64_t values = 0;            // Records with a usable value (all records for count).
  int64_t missing = 0;           // Records whose value (or a covariate) is missing.
  int64_t units = 0;             // Distinct units with a usable value.
  int64_t holdings = 0;          // Distinct holdings with a usable value (0 without holdings).
  int64_t negative_units = 0;    // Units whose net contribution is negative.
  double sum = 0;                // Sum of the values.
  double unit_abs_total = 0;     // Sum of |net contribution| over units.
  std::vector<double> top;       // Largest |unit contribution|, descending.
  double holding_abs_total = 0;
  std::vector<double> top_holdings;  // Largest |holding contribution|, descending.
  double min = 0;
  double max = 0;
  bool min_single_unit = false;  // The minimum is held by exactly one unit.
  bool max_single_unit = false;
  bool has_statistic = false;  // False when the statistic is undefined (std of one value).
  double statistic = 0;        // The recomputed statistic (distinct units for count).
};

// A recomputed table. Cells are sorted by key. A count table also holds its zero cells: every
// combination of observed dimension values that no unit falls in.
struct RecomputedTable {
  std::vector<std::string> dimensions;
  std::vector<CellEvidence> cells;
  int64_t rows_scanned = 0;
  bool has_holdings = false;
};

struct RecomputeOptions {
  int threads = 2;            // Parts of the table scanned in parallel.
  int top_contributions = 5;  // Length of CellEvidence::top (at least the largest n of a rule).
};

// Recomputes `spec` (already validated against `schema`). InvalidArgument names the file, line
// and field of a malformed record or a non-numeric value; InvalidArgument also when a count
// table's zero-cell grid would exceed a million cells.
absl::StatusOr<RecomputedTable> Recompute(const Schema& schema, const TableSpec& spec,
                                          const RecomputeOptions& options = {});

}  // namespace kura::disclosure
