#pragma once

// The scan phase of the recompute engine: one PartScanner per part of a schema table, each run
// on its own thread. Per record it applies the filter, finds the record's cell, updates the
// cell's record statistics and appends (unit, cell, value) and (holding, cell, value) records
// for the per-unit aggregation that follows (unit_contributions.h). Ids are local to the part;
// recompute.cc brings the parts into one numbering.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "disclosure/cell_stats.h"
#include "disclosure/interner.h"
#include "disclosure/table_reader.h"
#include "disclosure/table_spec.h"
#include "disclosure/unit_contributions.h"

namespace kura::disclosure {

inline constexpr uint32_t kMaxDimensionValues = 0xFFFF;

// Column indexes of what the engine reads.
struct ColumnPlan {
  std::vector<int> dims;
  int unit = -1;
  int holding = -1;
  int value = -1;
  std::vector<int> covariates;
  std::vector<std::pair<int, const Filter*>> filters;
  std::vector<std::string> names;  // Header, for errors.
  Statistic statistic = Statistic::kCount;
};

// A cell as up to 8 dimension-value ids of 16 bits each.
struct CellKey {
  uint64_t lo = 0;
  uint64_t hi = 0;
  bool operator==(const CellKey& o) const { return lo == o.lo && hi == o.hi; }
  template <typename H>
  friend H AbslHashValue(H h, const CellKey& k) {
    return H::combine(std::move(h), k.lo, k.hi);
  }
  void Set(size_t d, uint32_t id) {
    (d < 4 ? lo : hi) |= static_cast<uint64_t>(id) << (16 * (d % 4));
  }
  uint32_t Get(size_t d) const {
    return static_cast<uint32_t>(((d < 4 ? lo : hi) >> (16 * (d % 4))) & 0xFFFF);
  }
};

// The dimension fields of a record, each as a length byte and its bytes, in 32 bytes: the fast
// key from a record to its cell when the fields are short, as codes and bands are.
struct PackedDims {
  uint64_t w[4] = {0, 0, 0, 0};
  bool operator==(const PackedDims& o) const {
    return w[0] == o.w[0] && w[1] == o.w[1] && w[2] == o.w[2] && w[3] == o.w[3];
  }
  template <typename H>
  friend H AbslHashValue(H h, const PackedDims& k) {
    return H::combine(std::move(h), k.w[0], k.w[1], k.w[2], k.w[3]);
  }
};

// Scans one part. Owned and run by one thread; its results are read after the scan.
class PartScanner final : public RowVisitor {
 public:
  // `bytes`: the part's size, to size the record buffers.
  PartScanner(const ColumnPlan& plan, size_t bytes);

  absl::Status OnRow(absl::Span<const absl::string_view> fields) override;

  std::vector<Interner> dims;                // Dimension values per dimension.
  std::vector<CellKey> cell_keys;            // Per local cell.
  std::vector<RowStats> cells;               // Per local cell.
  std::vector<Spread> spreads;               // Per local cell, for std only.
  std::vector<std::vector<double>> samples;  // Per local cell, for median and mode only.
  IdInterner units;
  IdInterner holdings;
  ContributionRecords unit_records;
  ContributionRecords holding_records;
  int64_t rows_scanned = 0;

 private:
  absl::StatusOr<uint32_t> CellOf(absl::Span<const absl::string_view> fields);
  bool PackShort(absl::Span<const absl::string_view> fields, PackedDims* packed) const;
  bool Pack(absl::Span<const absl::string_view> fields, PackedDims* packed) const;
  absl::StatusOr<bool> ReadValue(absl::Span<const absl::string_view> fields, double* v) const;
  absl::Status NotNumber(int column, absl::string_view field) const;

  const ColumnPlan& plan_;
  const bool keep_samples_;
  const bool keep_spread_;
  absl::flat_hash_map<CellKey, uint32_t> cell_ids_;
  absl::flat_hash_map<PackedDims, uint32_t> short_cell_ids_;
  absl::flat_hash_map<PackedDims, uint32_t> packed_cell_ids_;
};

}  // namespace kura::disclosure
