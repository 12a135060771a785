#include "disclosure/unit_contributions.h"

#include <algorithm>
#include <cstdint>
#include <functional>
#include <memory>

namespace kura::disclosure {

std::vector<MemberSummary> SummariseUnits(const std::vector<const ContributionRecords*>& records,
                                          size_t units, size_t cells, size_t k) {
  std::vector<uint32_t> start(units + 1, 0);
  size_t total = 0;
  for (const auto* part : records) {
    for (const auto& r : *part) ++start[r.unit + 1];
    total += part->size();
  }
  for (size_t u = 0; u < units; ++u) start[u + 1] += start[u];
  // Every slot is written by the scatter below, so the buffer is left uninitialised.
  HugePageAllocator<ContributionRecord> allocator;
  std::unique_ptr<ContributionRecord[], std::function<void(ContributionRecord*)>> sorted(
      allocator.allocate(total), [&](ContributionRecord* p) { allocator.deallocate(p, total); });
  std::vector<uint32_t> next(start.begin(), start.end() - 1);
  for (const auto* part : records) {
    for (const auto& r : *part) sorted[next[r.unit]++] = r;
  }
  // Each member's records are netted per cell in a scratch row indexed by cell: `stamp` says
  // which member last touched a cell, `touched` lists the member's cells in order of first
  // record, so values are summed in file order whatever the number of parts.
  std::vector<MemberSummary> summary(cells);
  std::vector<double> net(cells, 0);
  std::vector<uint32_t> stamp(cells, UINT32_MAX);
  std::vector<uint32_t> touched;
  for (size_t u = 0; u < units; ++u) {
    touched.clear();
    for (uint32_t i = start[u]; i < start[u + 1]; ++i) {
      const ContributionRecord& r = sorted[i];
      if (stamp[r.cell] != u) {
        stamp[r.cell] = static_cast<uint32_t>(u);
        net[r.cell] = 0;
        touched.push_back(r.cell);
      }
      net[r.cell] += r.value;
    }
    for (uint32_t cell : touched) summary[cell].Add(net[cell], k);
  }
  return summary;
}

}  // namespace kura::disclosure
