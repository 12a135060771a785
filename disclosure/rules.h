#pragma once

// The per-cell disclosure rules. Pure functions of the recomputed evidence, the submitted value,
// the spec and the policy. Rule names are the ones the report uses: mismatch, threshold,
// dominance, p_percent, holding_threshold, holding_dominance, zeros, negative, missing,
// endpoint, dof.

#include <string>
#include <vector>

#include "disclosure/policy.h"
#include "disclosure/recompute.h"
#include "disclosure/report.h"
#include "disclosure/table_spec.h"

namespace kura::disclosure {

// The value a submitted table gives for a cell.
struct SubmittedValue {
  bool present = false;  // The cell is in the submitted table.
  std::string text;
  bool suppressed = false;  // "*" or a missing-value spelling: nothing is disclosed.
};

// True for the spellings of a suppressed cell.
bool IsSuppressedText(absl::string_view text);

// Context that needs the whole table.
struct CellContext {
  bool has_holdings = false;
  bool hundred_percent = false;  // The only non-zero cell of its row in a frequency table.
  bool recomputed = false;       // The data hold records for this cell.
};

// The rules that fire for one cell, in the order listed in the header comment. Rules whose
// policy action is `allow` are left out.
std::vector<Finding> JudgeCell(const CellEvidence& evidence, const SubmittedValue& submitted,
                               const CellContext& context, const TableSpec& spec,
                               const Policy& policy);

// Whether `submitted` agrees with the recomputed cell: exact for counts (or equal to the
// policy's rounding of it), within tolerance for real numbers. Fills `detail` when not.
bool ValueMatches(const CellEvidence& evidence, const SubmittedValue& submitted,
                  const TableSpec& spec, const Policy& policy, std::string* detail);

}  // namespace kura::disclosure
