#include "disclosure/part_scanner.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "disclosure/number.h"

namespace kura::disclosure {

PartScanner::PartScanner(const ColumnPlan& plan, size_t bytes)
    : dims(plan.dims.size()),
      plan_(plan),
      keep_samples_(plan.statistic == Statistic::kMedian || plan.statistic == Statistic::kMode),
      keep_spread_(plan.statistic == Statistic::kStd) {
  // Records are rarely shorter than 32 bytes; reserving spares the copies of growing.
  unit_records.reserve(bytes / 32);
  if (plan.holding >= 0) holding_records.reserve(bytes / 32);
}

absl::Status PartScanner::OnRow(absl::Span<const absl::string_view> fields) {
  ++rows_scanned;
  for (const auto& [index, filter] : plan_.filters) {
    if (!filter->Matches(fields[index])) return absl::OkStatus();
  }
  KURA_ASSIGN_OR_RETURN(const uint32_t cell, CellOf(fields));
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
  const uint32_t unit = units.Intern(fields[plan_.unit]);
  stats.Add(v, unit);
  if (keep_spread_) spreads[cell].Add(v);
  if (keep_samples_) samples[cell].push_back(v);
  unit_records.push_back(ContributionRecord{unit, cell, v});
  if (plan_.holding >= 0) {
    holding_records.push_back(ContributionRecord{holdings.Intern(fields[plan_.holding]), cell, v});
  }
  return absl::OkStatus();
}

namespace {

// A field of at most 7 bytes in the low bytes of a word and its length in the top byte, read
// with two overlapping loads instead of a loop.
inline uint64_t ShortWord(absl::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  uint64_t w = 0;
  if (n >= 4) {
    uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + n - 4, 4);
    w = lo | (uint64_t{hi} << (8 * (n - 4)));
  } else if (n > 0) {
    w = p[0] | (uint64_t{p[n / 2]} << (8 * (n / 2))) | (uint64_t{p[n - 1]} << (8 * (n - 1)));
  }
  return w | (uint64_t{n} << 56);
}

}  // namespace

// By the dimension fields packed into 32 bytes when they fit (one word per field when there
// are at most 4 fields of at most 7 bytes, else length-prefixed bytes, each form in its own
// map), else dimension by dimension. All paths give the same id for the same fields.
absl::StatusOr<uint32_t> PartScanner::CellOf(absl::Span<const absl::string_view> fields) {
  PackedDims packed;
  absl::flat_hash_map<PackedDims, uint32_t>* fast = nullptr;
  if (PackShort(fields, &packed)) {
    fast = &short_cell_ids_;
  } else if (Pack(fields, &packed)) {
    fast = &packed_cell_ids_;
  }
  if (fast != nullptr) {
    auto it = fast->find(packed);
    if (it != fast->end()) return it->second;
  }
  CellKey key;
  for (size_t d = 0; d < plan_.dims.size(); ++d) {
    const uint32_t id = dims[d].Intern(fields[plan_.dims[d]]);
    if (id >= kMaxDimensionValues) {
      return absl::InvalidArgumentError(
          absl::StrCat("field ", plan_.names[plan_.dims[d]], ": more than 65535 distinct values"));
    }
    key.Set(d, id);
  }
  auto [it, inserted] = cell_ids_.try_emplace(key, static_cast<uint32_t>(cells.size()));
  if (inserted) {
    cells.emplace_back();
    cell_keys.push_back(key);
    if (keep_spread_) spreads.emplace_back();
    if (keep_samples_) samples.emplace_back();
  }
  if (fast != nullptr) fast->emplace(packed, it->second);
  return it->second;
}

bool PartScanner::PackShort(absl::Span<const absl::string_view> fields, PackedDims* packed) const {
  if (plan_.dims.size() > 4) return false;
  for (size_t d = 0; d < plan_.dims.size(); ++d) {
    const absl::string_view f = fields[static_cast<size_t>(plan_.dims[d])];
    if (f.size() > 7) return false;
    packed->w[d] = ShortWord(f);
  }
  return true;
}

bool PartScanner::Pack(absl::Span<const absl::string_view> fields, PackedDims* packed) const {
  unsigned char bytes[32] = {0};
  size_t at = 0;
  for (int index : plan_.dims) {
    const absl::string_view f = fields[static_cast<size_t>(index)];
    if (at + 1 + f.size() > sizeof(bytes)) return false;
    bytes[at++] = static_cast<unsigned char>(f.size());
    for (char c : f) bytes[at++] = static_cast<unsigned char>(c);
  }
  std::memcpy(packed->w, bytes, sizeof(bytes));
  return true;
}

// Reads the value (and for a regression checks the covariates). False when any is missing.
absl::StatusOr<bool> PartScanner::ReadValue(absl::Span<const absl::string_view> fields,
                                            double* v) const {
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

absl::Status PartScanner::NotNumber(int column, absl::string_view field) const {
  return absl::InvalidArgumentError(absl::StrCat("field ", plan_.names[column], ": \"",
                                                 field.substr(0, 40), "\" is not a number"));
}

}  // namespace kura::disclosure
