#pragma once

// Mitigations that turn a checked table into a safer one: rounding of counts and primary
// suppression of failing cells. Each rewrites the table's values in place and says what it did.
// Secondary suppression (protecting suppressed cells from recovery through margins) is not done.

#include <string>

#include "absl/status/statusor.h"
#include "disclosure/csv_reader.h"
#include "disclosure/policy.h"
#include "disclosure/report.h"

namespace kura::disclosure {

enum class MitigationMethod { kNone, kRound, kSuppress };

// "none", "round" or "suppress".
absl::StatusOr<MitigationMethod> ParseMitigationMethod(absl::string_view text);

// The text that replaces a suppressed value.
inline constexpr char kSuppressedMark[] = "*";

// Where a report cell's value sits in the checked document.
struct CellLocation {
  size_t row = 0;
  size_t column = 0;
};

// Rewrites `document` by `method`. `locations[i]` is where `report.cells[i]` sits.
// Rounding changes integer counts of a frequency table (`frequency`) by the policy's rounding
// (base 5 when the policy does not round); suppression replaces every failing cell's value by
// kSuppressedMark. Returns the actions, one line per changed cell plus notes.
MitigationReport MitigateDocument(CsvDocument& document, const FileReport& report,
                                  const std::vector<CellLocation>& locations, bool frequency,
                                  MitigationMethod method, const Policy& policy);

}  // namespace kura::disclosure
