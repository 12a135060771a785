#include "disclosure/cell_stats.h"

namespace kura::disclosure {

void RowStats::Merge(const RowStats& o) {
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
  values += o.values;
  sum += o.sum;
}

void Spread::Merge(const Spread& o) {
  if (o.n == 0) return;
  const double a = static_cast<double>(n), b = static_cast<double>(o.n);
  const double delta = o.mean - mean;
  m2 += o.m2 + delta * delta * a * b / (a + b);
  mean += delta * b / (a + b);
  n += o.n;
}

void MemberSummary::Add(double contribution, size_t k) {
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

std::vector<double> MemberSummary::Descending() const {
  std::vector<double> out = top;
  std::sort(out.begin(), out.end(), std::greater<>());
  return out;
}

}  // namespace kura::disclosure
