#pragma once

// Reading numbers and missing values from table fields, the same way everywhere in the checker.

#include <string>

#include "absl/strings/string_view.h"

namespace kura::disclosure {

// True for the spellings of a missing value: empty, NA, N/A, NaN, null, NULL, None.
bool IsMissing(absl::string_view field);

// Parses a decimal number ("12", "-3.5", "1e6", surrounding spaces allowed) into `value`.
// Returns false for anything else, including missing values, inf and nan.
bool ParseNumber(absl::string_view field, double* value);

// Shortest text that reads back as `value` ("12", "0.1", "1234.5678").
std::string FormatNumber(double value);

}  // namespace kura::disclosure
