#include "disclosure/unit_contributions.h"

#include <algorithm>

namespace kura::disclosure {

std::vector<MemberSummary> SummariseUnits(const std::vector<const std::vector<ContributionRecord>*>& records,
                                          size_t units, size_t cells, size_t k) {
  std::vector<uint32_t> start(units + 1, 0);
  size_t total = 0;
  for (const auto* part : records) {
    for (const auto& r : *part) ++start[r.unit + 1];
    total += part->size();
  }
  for (size_t u = 0; u < units; ++u) start[u + 1] += start[u];
  std::vector<ContributionRecord> sorted(total);
  std::vector<uint32_t> next(start.begin(), start.end() - 1);
  for (const auto* part : records) {
    for (const auto& r : *part) sorted[next[r.unit]++] = r;
  }
  std::vector<MemberSummary> summary(cells);
  for (size_t u = 0; u < units; ++u) {
    auto begin = sorted.begin() + start[u], end = sorted.begin() + start[u + 1];
    // Stable, so that a unit's values are summed in file order whatever the number of parts;
    // a unit has few records, so insertion sort, unless it has many.
    if (end - begin > 32) {
      std::stable_sort(begin, end, [](const ContributionRecord& a, const ContributionRecord& b) { return a.cell < b.cell; });
    } else {
      for (auto i = begin + 1; i < end; ++i) {
        const ContributionRecord r = *i;
        auto j = i;
        for (; j > begin && (j - 1)->cell > r.cell; --j) *j = *(j - 1);
        *j = r;
      }
    }
    while (begin != end) {
      const uint32_t cell = begin->cell;
      double net = 0;
      for (; begin != end && begin->cell == cell; ++begin) net += begin->value;
      summary[cell].Add(net, k);
    }
  }
  return summary;
}

}  // namespace kura::disclosure
