#include "disclosure/recompute.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "disclosure/cell_stats.h"
#include "disclosure/csv_reader.h"
#include "disclosure/interner.h"
#include "disclosure/part_scanner.h"
#include "disclosure/unit_contributions.h"

namespace kura::disclosure {
namespace {

using Parts = std::vector<std::unique_ptr<PartScanner>>;

// The parts' cells, units and holdings under one numbering: the first part's, extended.
struct Merged {
  std::vector<std::vector<absl::string_view>> dim_values;
  std::vector<CellKey> keys;
  std::vector<RowStats> stats;
  std::vector<Spread> spreads;
  std::vector<std::vector<double>> samples;
  size_t units = 0;
  size_t holdings = 0;
};

// Maps every part's ids of an identifier (units or holdings) into the first part's interner.
std::vector<std::vector<uint32_t>> NumberIds(Parts& parts, IdInterner PartScanner::*ids) {
  std::vector<std::vector<uint32_t>> maps(parts.size());
  IdInterner& global = (*parts[0]).*ids;
  for (size_t p = 0; p < parts.size(); ++p) {
    const auto& names = ((*parts[p]).*ids).names();
    maps[p].reserve(names.size());
    for (absl::string_view name : names) {
      maps[p].push_back(p == 0 ? static_cast<uint32_t>(maps[p].size()) : global.Intern(name));
    }
  }
  return maps;
}

// Brings part `p`'s cells into `merged`; returns its local cell -> merged cell map.
absl::StatusOr<std::vector<uint32_t>> MergeCells(PartScanner& part,
                                                 const std::vector<uint32_t>& unit_map,
                                                 std::vector<Interner>& dims,
                                                 absl::flat_hash_map<CellKey, uint32_t>& ids,
                                                 Merged& merged) {
  std::vector<std::vector<uint32_t>> dim_map(dims.size());
  for (size_t d = 0; d < dims.size(); ++d) {
    for (absl::string_view value : part.dims[d].names()) {
      const uint32_t id = dims[d].Intern(value);
      if (id >= kMaxDimensionValues)
        return absl::InvalidArgumentError("a dimension has more than 65535 distinct values");
      dim_map[d].push_back(id);
    }
  }
  std::vector<uint32_t> remap;
  for (size_t c = 0; c < part.cells.size(); ++c) {
    CellKey key;
    for (size_t d = 0; d < dims.size(); ++d) key.Set(d, dim_map[d][part.cell_keys[c].Get(d)]);
    auto [it, inserted] = ids.try_emplace(key, static_cast<uint32_t>(merged.keys.size()));
    if (inserted) {
      merged.keys.push_back(key);
      merged.stats.emplace_back();
      merged.spreads.emplace_back();
      merged.samples.emplace_back();
    }
    const uint32_t m = it->second;
    RowStats stats = part.cells[c];
    stats.min_unit = stats.values > 0 ? unit_map[stats.min_unit] : 0;
    stats.max_unit = stats.values > 0 ? unit_map[stats.max_unit] : 0;
    merged.stats[m].Merge(stats);
    if (!part.spreads.empty()) merged.spreads[m].Merge(part.spreads[c]);
    if (!part.samples.empty()) {
      merged.samples[m].insert(merged.samples[m].end(), part.samples[c].begin(),
                               part.samples[c].end());
    }
    remap.push_back(m);
  }
  return remap;
}

void Renumber(ContributionRecords& records, const std::vector<uint32_t>& member_map,
              const std::vector<uint32_t>& cell_map) {
  for (ContributionRecord& r : records) {
    r.unit = member_map[r.unit];
    r.cell = cell_map[r.cell];
  }
}

absl::StatusOr<Merged> MergeParts(Parts& parts, size_t dim_count) {
  Merged merged;
  const auto unit_maps = NumberIds(parts, &PartScanner::units);
  const auto holding_maps = NumberIds(parts, &PartScanner::holdings);
  merged.units = parts[0]->units.size();
  merged.holdings = parts[0]->holdings.size();
  std::vector<Interner> dims(dim_count);
  absl::flat_hash_map<CellKey, uint32_t> ids;
  for (size_t p = 0; p < parts.size(); ++p) {
    KURA_ASSIGN_OR_RETURN(std::vector<uint32_t> remap,
                          MergeCells(*parts[p], unit_maps[p], dims, ids, merged));
    Renumber(parts[p]->unit_records, unit_maps[p], remap);
    Renumber(parts[p]->holding_records, holding_maps[p], remap);
  }
  for (const auto& d : dims) merged.dim_values.push_back(d.names());
  return merged;
}

void FinishStatistic(Statistic statistic, const RowStats& stats, const Spread& spread,
                     std::vector<double>& s, CellEvidence& cell) {
  cell.has_statistic = stats.values > 0;
  switch (statistic) {
    case Statistic::kCount:
      cell.statistic = static_cast<double>(cell.units);
      cell.has_statistic = true;
      break;
    case Statistic::kSum:
      cell.statistic = stats.sum;
      break;
    case Statistic::kMean:
      cell.statistic = stats.values > 0 ? stats.sum / static_cast<double>(stats.values) : 0;
      break;
    case Statistic::kMin:
      cell.statistic = stats.min;
      break;
    case Statistic::kMax:
      cell.statistic = stats.max;
      break;
    case Statistic::kStd:
      cell.has_statistic = spread.n > 1;
      if (cell.has_statistic)
        cell.statistic = std::sqrt(spread.m2 / static_cast<double>(spread.n - 1));
      break;
    case Statistic::kMedian: {
      if (s.empty()) break;
      std::sort(s.begin(), s.end());
      const size_t n = s.size();
      cell.statistic = n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
      break;
    }
    case Statistic::kMode: {
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
    case Statistic::kRegression:
      cell.has_statistic = false;
      break;
  }
}

CellEvidence MakeEvidence(Merged& merged, size_t c, const MemberSummary& units,
                          const MemberSummary& holdings, Statistic statistic) {
  CellEvidence cell;
  for (size_t d = 0; d < merged.dim_values.size(); ++d)
    cell.key.emplace_back(merged.dim_values[d][merged.keys[c].Get(d)]);
  const RowStats& stats = merged.stats[c];
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
  cell.holdings = holdings.members;
  cell.holding_abs_total = holdings.abs_total;
  cell.top_holdings = holdings.Descending();
  FinishStatistic(statistic, stats, merged.spreads[c], merged.samples[c], cell);
  return cell;
}

absl::StatusOr<ColumnPlan> PlanColumns(const SchemaTable& table, const TableSpec& spec,
                                       const TableReader& reader) {
  ColumnPlan plan;
  plan.names = reader.columns();
  plan.statistic = spec.statistic;
  auto index = [&](const std::string& column) -> absl::StatusOr<int> {
    const int i = reader.ColumnIndex(column);
    if (i < 0)
      return absl::InvalidArgumentError(
          absl::StrCat(reader.path(), ":1: no column \"", column, "\""));
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

absl::Status AddZeroCells(RecomputedTable& table,
                          const std::vector<std::vector<std::string>>& values) {
  double grid = 1;
  for (const auto& v : values) grid *= static_cast<double>(v.size());
  if (grid > 1e6)
    return absl::InvalidArgumentError("the table's full grid of cells exceeds 1,000,000");
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
  if (table == nullptr)
    return absl::InvalidArgumentError(absl::StrCat(spec.source, ": no table \"", spec.table, "\""));
  KURA_ASSIGN_OR_RETURN(auto reader,
                        CsvTableReader::Open(table->path, std::max(1, options.threads)));
  KURA_ASSIGN_OR_RETURN(ColumnPlan plan, PlanColumns(*table, spec, *reader));
  const size_t n = static_cast<size_t>(reader->part_count());
  const size_t k = static_cast<size_t>(std::max(options.top_contributions, 2));
  Parts parts;
  for (size_t i = 0; i < n; ++i)
    parts.push_back(std::make_unique<PartScanner>(plan, reader->part_bytes(static_cast<int>(i))));
  KURA_RETURN_IF_ERROR(
      RunParallel(n, [&](size_t i) { return reader->ScanPart(static_cast<int>(i), *parts[i]); }));
  KURA_ASSIGN_OR_RETURN(Merged merged, MergeParts(parts, plan.dims.size()));
  // From here on only the records are read in bulk; the table's pages can go, which halves
  // the peak memory of a large table.
  reader->ReleaseResidentData();

  // Units and holdings are summarised side by side.
  std::vector<MemberSummary> summaries[2];
  KURA_RETURN_IF_ERROR(RunParallel(2, [&](size_t i) {
    std::vector<const ContributionRecords*> records;
    for (const auto& part : parts)
      records.push_back(i == 0 ? &part->unit_records : &part->holding_records);
    summaries[i] =
        SummariseUnits(records, i == 0 ? merged.units : merged.holdings, merged.keys.size(), k);
    return absl::OkStatus();
  }));

  RecomputedTable out;
  out.dimensions = spec.Dimensions();
  out.has_holdings = plan.holding >= 0;
  for (const auto& part : parts) out.rows_scanned += part->rows_scanned;
  for (size_t c = 0; c < merged.keys.size(); ++c) {
    out.cells.push_back(MakeEvidence(merged, c, summaries[0][c], summaries[1][c], spec.statistic));
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
