#include "disclosure/recompute.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "disclosure/csv_reader.h"
#include "disclosure/interner.h"
#include "disclosure/number.h"

namespace kura::disclosure {
namespace {

constexpr uint32_t kMaxDimensionValues = 0xFFFF;

// Up to 8 dimension ids of 16 bits each.
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

// Record-level statistics of one cell. Merging two gives the statistics of the union.
struct RowStats {
  int64_t rows = 0;
  int64_t values = 0;
  int64_t missing = 0;
  double sum = 0;
  double min = 0;
  double max = 0;
  absl::string_view min_unit;
  absl::string_view max_unit;
  bool min_multi = false;
  bool max_multi = false;
  double mean = 0;  // Welford, for std.
  double m2 = 0;
  std::vector<double> samples;  // For median and mode.

  void Add(double v, absl::string_view unit, bool keep_samples, bool welford) {
    if (values == 0 || v < min) {
      min = v, min_unit = unit, min_multi = false;
    } else if (v == min && unit != min_unit) {
      min_multi = true;
    }
    if (values == 0 || v > max) {
      max = v, max_unit = unit, max_multi = false;
    } else if (v == max && unit != max_unit) {
      max_multi = true;
    }
    ++values;
    sum += v;
    if (welford) {
      const double delta = v - mean;
      mean += delta / static_cast<double>(values);
      m2 += delta * (v - mean);
    }
    if (keep_samples) samples.push_back(v);
  }

  void Merge(const RowStats& o) {
    rows += o.rows;
    missing += o.missing;
    if (o.values == 0) return;
    if (values == 0) {
      const int64_t r = rows, m = missing;
      *this = o;
      rows = r, missing = m;
      return;
    }
    if (o.min < min) {
      min = o.min, min_unit = o.min_unit, min_multi = o.min_multi;
    } else if (o.min == min) {
      min_multi = min_multi || o.min_multi || o.min_unit != min_unit;
    }
    if (o.max > max) {
      max = o.max, max_unit = o.max_unit, max_multi = o.max_multi;
    } else if (o.max == max) {
      max_multi = max_multi || o.max_multi || o.max_unit != max_unit;
    }
    const double n = static_cast<double>(values), on = static_cast<double>(o.values);
    const double delta = o.mean - mean;
    m2 += o.m2 + delta * delta * n * on / (n + on);
    mean += delta * on / (n + on);
    values += o.values;
    sum += o.sum;
    samples.insert(samples.end(), o.samples.begin(), o.samples.end());
  }
};

// Net contribution per (member, cell): key (member << 32) | cell.
using Contributions = absl::flat_hash_map<uint64_t, double>;

inline uint64_t MemberCell(uint32_t member, uint32_t cell) {
  return (static_cast<uint64_t>(member) << 32) | cell;
}

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

// Scans one part of the table: filter, cell lookup, record statistics, and the net
// contribution of each unit and each holding to each cell.
class PartScanner final : public RowVisitor {
 public:
  explicit PartScanner(const ColumnPlan& plan)
      : dims(plan.dims.size()),
        plan_(plan),
        keep_samples_(plan.statistic == Statistic::kMedian || plan.statistic == Statistic::kMode),
        welford_(plan.statistic == Statistic::kStd) {}

  absl::Status OnRow(absl::Span<const absl::string_view> fields) override {
    ++rows_scanned;
    for (const auto& [index, filter] : plan_.filters) {
      if (!filter->Matches(fields[index])) return absl::OkStatus();
    }
    CellKey key;
    for (size_t d = 0; d < plan_.dims.size(); ++d) {
      const uint32_t id = dims[d].Intern(fields[plan_.dims[d]]);
      if (id >= kMaxDimensionValues) return TooManyValues(d);
      key.Set(d, id);
    }
    auto [it, inserted] = cell_ids.try_emplace(key, static_cast<uint32_t>(cells.size()));
    if (inserted) {
      cells.emplace_back();
      cell_keys.push_back(key);
    }
    const uint32_t cell = it->second;
    RowStats& stats = cells[cell];
    ++stats.rows;
    double v = 1;
    if (plan_.value >= 0) {
      KURA_ASSIGN_OR_RETURN(bool usable, ReadValue(fields, &v));
      if (!usable) {
        ++stats.missing;
        return absl::OkStatus();
      }
    }
    const absl::string_view unit = fields[plan_.unit];
    stats.Add(v, unit, keep_samples_, welford_);
    unit_contributions[MemberCell(units.Intern(unit), cell)] += v;
    if (plan_.holding >= 0) {
      holding_contributions[MemberCell(holdings.Intern(fields[plan_.holding]), cell)] += v;
    }
    return absl::OkStatus();
  }

  std::vector<Interner> dims;
  absl::flat_hash_map<CellKey, uint32_t> cell_ids;
  std::vector<CellKey> cell_keys;
  std::vector<RowStats> cells;
  Interner units;
  Interner holdings;
  Contributions unit_contributions;
  Contributions holding_contributions;
  int64_t rows_scanned = 0;

 private:
  absl::Status TooManyValues(size_t d) const {
    return absl::InvalidArgumentError(absl::StrCat("field ", plan_.names[plan_.dims[d]],
                                                   ": more than 65535 distinct values"));
  }

  // Reads the value (and for a regression the covariates). False when any is missing.
  absl::StatusOr<bool> ReadValue(absl::Span<const absl::string_view> fields, double* v) {
    for (int c : plan_.covariates) {
      double unused;
      if (IsMissing(fields[c])) return false;
      if (!ParseNumber(fields[c], &unused)) return NotNumber(c, fields[c]);
    }
    const absl::string_view field = fields[plan_.value];
    if (ParseNumber(field, v)) return true;
    if (IsMissing(field)) return false;
    return NotNumber(plan_.value, field);
  }

  absl::Status NotNumber(int column, absl::string_view field) const {
    return absl::InvalidArgumentError(absl::StrCat("field ", plan_.names[column], ": \"",
                                                   field.substr(0, 40), "\" is not a number"));
  }

  const ColumnPlan& plan_;
  const bool keep_samples_;
  const bool welford_;
};

// Cells of all parts under one numbering.
struct MergedCells {
  std::vector<std::vector<absl::string_view>> dim_values;
  std::vector<CellKey> keys;
  std::vector<RowStats> stats;
  std::vector<std::vector<uint32_t>> remap;  // Per part: local cell -> merged cell.
};

absl::StatusOr<MergedCells> MergeCells(std::vector<std::unique_ptr<PartScanner>>& parts,
                                       size_t dims) {
  MergedCells merged;
  merged.dim_values.resize(dims);
  std::vector<absl::flat_hash_map<absl::string_view, uint32_t>> dim_ids(dims);
  absl::flat_hash_map<CellKey, uint32_t> cell_ids;
  for (auto& part : parts) {
    std::vector<std::vector<uint32_t>> dim_map(dims);
    for (size_t d = 0; d < dims; ++d) {
      for (absl::string_view value : part->dims[d].names()) {
        auto [it, inserted] = dim_ids[d].try_emplace(value, static_cast<uint32_t>(merged.dim_values[d].size()));
        if (inserted) {
          if (merged.dim_values[d].size() >= kMaxDimensionValues) {
            return absl::InvalidArgumentError("a dimension has more than 65535 distinct values");
          }
          merged.dim_values[d].push_back(value);
        }
        dim_map[d].push_back(it->second);
      }
    }
    std::vector<uint32_t>& remap = merged.remap.emplace_back();
    for (size_t c = 0; c < part->cells.size(); ++c) {
      CellKey key;
      for (size_t d = 0; d < dims; ++d) key.Set(d, dim_map[d][part->cell_keys[c].Get(d)]);
      auto [it, inserted] = cell_ids.try_emplace(key, static_cast<uint32_t>(merged.keys.size()));
      if (inserted) {
        merged.keys.push_back(key);
        merged.stats.emplace_back();
      }
      merged.stats[it->second].Merge(part->cells[c]);
      remap.push_back(it->second);
    }
  }
  return merged;
}

// Net contributions of members (units or holdings) of each cell, summarised.
struct MemberSummary {
  int64_t members = 0;
  int64_t negative = 0;
  double abs_total = 0;
  std::vector<double> top;  // Ascending while collecting; a bounded min-heap.

  void Add(double contribution, size_t k) {
    ++members;
    if (contribution < 0) ++negative;
    const double a = std::fabs(contribution);
    abs_total += a;
    if (top.size() < k) {
      top.push_back(a);
      std::push_heap(top.begin(), top.end(), std::greater<>());
    } else if (k > 0 && a > top.front()) {
      std::pop_heap(top.begin(), top.end(), std::greater<>());
      top.back() = a;
      std::push_heap(top.begin(), top.end(), std::greater<>());
    }
  }
  std::vector<double> Descending() const {
    std::vector<double> out = top;
    std::sort(out.begin(), out.end(), std::greater<>());
    return out;
  }
};

// Folds every part's contributions into the first part's, under merged member and cell ids,
// and summarises them per cell.
std::vector<MemberSummary> SummariseMembers(std::vector<std::unique_ptr<PartScanner>>& parts,
                                            const MergedCells& merged, bool holdings, size_t k) {
  auto interner = [&](PartScanner& p) -> Interner& { return holdings ? p.holdings : p.units; };
  auto contributions = [&](PartScanner& p) -> Contributions& {
    return holdings ? p.holding_contributions : p.unit_contributions;
  };
  Interner& members = interner(*parts[0]);
  Contributions total;
  total.reserve(contributions(*parts[0]).size());
  for (size_t p = 0; p < parts.size(); ++p) {
    std::vector<uint32_t> member_map;
    for (absl::string_view name : interner(*parts[p]).names()) {
      member_map.push_back(p == 0 ? static_cast<uint32_t>(member_map.size()) : members.Intern(name));
    }
    for (const auto& [key, value] : contributions(*parts[p])) {
      const uint32_t member = member_map[key >> 32];
      const uint32_t cell = merged.remap[p][key & 0xFFFFFFFFu];
      total[MemberCell(member, cell)] += value;
    }
    Contributions().swap(contributions(*parts[p]));
  }
  std::vector<MemberSummary> summary(merged.keys.size());
  for (const auto& [key, value] : total) summary[key & 0xFFFFFFFFu].Add(value, k);
  return summary;
}

void FinishStatistic(Statistic statistic, RowStats& stats, CellEvidence& cell) {
  cell.has_statistic = stats.values > 0;
  switch (statistic) {
    case Statistic::kCount: cell.statistic = static_cast<double>(cell.units); cell.has_statistic = true; break;
    case Statistic::kSum: cell.statistic = stats.sum; break;
    case Statistic::kMean: cell.statistic = stats.values > 0 ? stats.sum / static_cast<double>(stats.values) : 0; break;
    case Statistic::kMin: cell.statistic = stats.min; break;
    case Statistic::kMax: cell.statistic = stats.max; break;
    case Statistic::kStd:
      cell.has_statistic = stats.values > 1;
      if (cell.has_statistic) cell.statistic = std::sqrt(stats.m2 / static_cast<double>(stats.values - 1));
      break;
    case Statistic::kMedian: {
      auto& s = stats.samples;
      if (s.empty()) break;
      std::sort(s.begin(), s.end());
      const size_t n = s.size();
      cell.statistic = n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
      break;
    }
    case Statistic::kMode: {
      auto& s = stats.samples;
      std::sort(s.begin(), s.end());
      size_t best = 0;
      for (size_t i = 0; i < s.size();) {
        size_t j = i;
        while (j < s.size() && s[j] == s[i]) ++j;
        if (j - i > best) best = j - i, cell.statistic = s[i];  // Ties keep the smallest value.
        i = j;
      }
      break;
    }
    case Statistic::kRegression: cell.has_statistic = false; break;
  }
}

absl::StatusOr<ColumnPlan> PlanColumns(const SchemaTable& table, const TableSpec& spec,
                                       const TableReader& reader) {
  ColumnPlan plan;
  plan.names = reader.columns();
  plan.statistic = spec.statistic;
  auto index = [&](const std::string& column) -> absl::StatusOr<int> {
    const int i = reader.ColumnIndex(column);
    if (i < 0) return absl::InvalidArgumentError(absl::StrCat(reader.path(), ":1: no column \"", column, "\""));
    return i;
  };
  for (const auto& d : spec.Dimensions()) {
    KURA_ASSIGN_OR_RETURN(int i, index(d));
    plan.dims.push_back(i);
  }
  KURA_ASSIGN_OR_RETURN(plan.unit, index(table.UnitColumn()));
  const std::vector<std::string> holdings = table.HoldingColumns();
  if (!holdings.empty()) {
    KURA_ASSIGN_OR_RETURN(plan.holding, index(holdings.front()));
  }
  if (!spec.value.empty()) {
    KURA_ASSIGN_OR_RETURN(plan.value, index(spec.value));
  }
  for (const auto& c : spec.covariates) {
    KURA_ASSIGN_OR_RETURN(int i, index(c));
    plan.covariates.push_back(i);
  }
  for (const auto& f : spec.filters) {
    KURA_ASSIGN_OR_RETURN(int i, index(f.column));
    plan.filters.emplace_back(i, &f);
  }
  return plan;
}

// Runs fn(0..n-1), each on its own thread but the first, and returns the first error.
absl::Status RunParallel(size_t n, const std::function<absl::Status(size_t)>& fn) {
  std::vector<absl::Status> results(n);
  std::vector<std::thread> threads;
  for (size_t i = 1; i < n; ++i) threads.emplace_back([&, i] { results[i] = fn(i); });
  if (n > 0) results[0] = fn(0);
  for (auto& t : threads) t.join();
  for (auto& r : results) KURA_RETURN_IF_ERROR(r);
  return absl::OkStatus();
}

absl::Status AddZeroCells(RecomputedTable& table, const std::vector<std::vector<std::string>>& values) {
  double grid = 1;
  for (const auto& v : values) grid *= static_cast<double>(v.size());
  if (grid > 1e6) return absl::InvalidArgumentError("the table's full grid of cells exceeds 1,000,000");
  std::vector<std::vector<std::string>> present;
  for (const auto& c : table.cells) present.push_back(c.key);
  std::sort(present.begin(), present.end());
  std::vector<size_t> odometer(values.size(), 0);
  if (values.empty() || grid == 0) return absl::OkStatus();
  for (;;) {
    std::vector<std::string> key;
    for (size_t d = 0; d < values.size(); ++d) key.push_back(values[d][odometer[d]]);
    if (!std::binary_search(present.begin(), present.end(), key)) {
      CellEvidence zero;
      zero.key = std::move(key);
      zero.has_statistic = true;
      table.cells.push_back(std::move(zero));
    }
    size_t d = values.size();
    while (d > 0 && ++odometer[d - 1] == values[d - 1].size()) odometer[--d] = 0;
    if (d == 0) break;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RecomputedTable> Recompute(const Schema& schema, const TableSpec& spec,
                                          const RecomputeOptions& options) {
  const SchemaTable* table = schema.FindTable(spec.table);
  if (table == nullptr) return absl::InvalidArgumentError(absl::StrCat(spec.source, ": no table \"", spec.table, "\""));
  KURA_ASSIGN_OR_RETURN(auto reader, CsvTableReader::Open(table->path, std::max(1, options.threads)));
  KURA_ASSIGN_OR_RETURN(ColumnPlan plan, PlanColumns(*table, spec, *reader));
  const size_t n = static_cast<size_t>(reader->part_count());
  const size_t k = static_cast<size_t>(std::max(options.top_contributions, 2));
  std::vector<std::unique_ptr<PartScanner>> parts;
  for (size_t i = 0; i < n; ++i) parts.push_back(std::make_unique<PartScanner>(plan));
  KURA_RETURN_IF_ERROR(RunParallel(n, [&](size_t i) { return reader->ScanPart(static_cast<int>(i), *parts[i]); }));

  KURA_ASSIGN_OR_RETURN(MergedCells merged, MergeCells(parts, plan.dims.size()));
  std::vector<MemberSummary> unit_summary, holding_summary;
  KURA_RETURN_IF_ERROR(RunParallel(2, [&](size_t i) {
    (i == 0 ? unit_summary : holding_summary) = SummariseMembers(parts, merged, i == 1, k);
    return absl::OkStatus();
  }));

  RecomputedTable out;
  out.dimensions = spec.Dimensions();
  out.has_holdings = plan.holding >= 0;
  for (const auto& part : parts) out.rows_scanned += part->rows_scanned;
  for (size_t c = 0; c < merged.keys.size(); ++c) {
    const MemberSummary& units = unit_summary[c];
    CellEvidence cell;
    for (size_t d = 0; d < plan.dims.size(); ++d) cell.key.emplace_back(merged.dim_values[d][merged.keys[c].Get(d)]);
    RowStats& stats = merged.stats[c];
    cell.rows = stats.rows;
    cell.values = stats.values;
    cell.missing = stats.missing;
    cell.sum = stats.sum;
    cell.min = stats.min;
    cell.max = stats.max;
    cell.min_single_unit = stats.values > 0 && !stats.min_multi;
    cell.max_single_unit = stats.values > 0 && !stats.max_multi;
    cell.units = units.members;
    cell.negative_units = units.negative;
    cell.unit_abs_total = units.abs_total;
    cell.top = units.Descending();
    cell.holdings = holding_summary[c].members;
    cell.holding_abs_total = holding_summary[c].abs_total;
    cell.top_holdings = holding_summary[c].Descending();
    FinishStatistic(spec.statistic, stats, cell);
    out.cells.push_back(std::move(cell));
  }
  if (spec.statistic == Statistic::kCount) {
    std::vector<std::vector<std::string>> values(plan.dims.size());
    for (size_t d = 0; d < plan.dims.size(); ++d) {
      for (absl::string_view v : merged.dim_values[d]) values[d].emplace_back(v);
      std::sort(values[d].begin(), values[d].end());
    }
    KURA_RETURN_IF_ERROR(AddZeroCells(out, values));
  }
  std::sort(out.cells.begin(), out.cells.end(),
            [](const CellEvidence& a, const CellEvidence& b) { return a.key < b.key; });
  return out;
}

}  // namespace kura::disclosure
