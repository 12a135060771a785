#pragma once

// Accumulators of the recompute engine: record-level statistics of a cell, the spread of its
// values, and the summary of the net contributions of a cell's members (units or holdings).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <vector>

namespace kura::disclosure {

// Record-level statistics of one cell, kept to one cache line since the scan touches it for
// every record. Units are ids of one numbering; Merge expects `o` in the same numbering.
// Thread-compatible.
struct RowStats {
  int64_t rows = 0;
  int64_t values = 0;
  int64_t missing = 0;
  double sum = 0;
  double min = 0;
  double max = 0;
  uint32_t min_unit = 0;
  uint32_t max_unit = 0;
  bool min_multi = false;  // Another unit holds the same minimum.
  bool max_multi = false;

  void Add(double v, uint32_t unit) {
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
  }
  void Merge(const RowStats& o);
};

// Mean and sum of squared deviations (Welford), for std. Thread-compatible.
struct Spread {
  int64_t n = 0;
  double mean = 0;
  double m2 = 0;

  void Add(double v) {
    ++n;
    const double delta = v - mean;
    mean += delta / static_cast<double>(n);
    m2 += delta * (v - mean);
  }
  void Merge(const Spread& o);
};

// The net contributions of a cell's members: how many, how many negative, the total of their
// absolute values and the k largest absolute values. Thread-compatible.
struct MemberSummary {
  int64_t members = 0;
  int64_t negative = 0;
  double abs_total = 0;
  std::vector<double> top;  // A bounded min-heap while collecting.

  void Add(double contribution, size_t k);
  std::vector<double> Descending() const;
};

}  // namespace kura::disclosure
