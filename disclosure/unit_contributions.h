#pragma once

// Per-unit aggregation for the recompute engine. The scan appends one record per row
// (unit, cell, value) in file order, which costs a sequential write instead of a hash lookup;
// a counting sort by unit then makes each unit's records adjacent, so its net contribution to
// each cell is summed in cache, and a patient with many claims becomes one contributor. The
// same serves holdings (institutions).

#include <cstdint>
#include <vector>

#include "disclosure/cell_stats.h"
#include "disclosure/huge_pages.h"

namespace kura::disclosure {

struct ContributionRecord {
  uint32_t unit;
  uint32_t cell;
  double value;
};

using ContributionRecords = std::vector<ContributionRecord, HugePageAllocator<ContributionRecord>>;

// Summarises, per cell, the net contributions of units 0..units-1 given by `records` (whose
// unit and cell ids are already in one numbering across parts). `k` largest are kept.
std::vector<MemberSummary> SummariseUnits(const std::vector<const ContributionRecords*>& records,
                                          size_t units, size_t cells, size_t k);

}  // namespace kura::disclosure
