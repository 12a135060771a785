#pragma once

// File-level checks that every submitted file gets, with or without a table spec: allowed
// types (by name and by content), size and row caps, identifier-like columns and values, and
// day-level dates. Pure functions over bytes already read, apart from FindIdentifierValues.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "disclosure/csv_reader.h"
#include "disclosure/policy.h"
#include "disclosure/report.h"
#include "disclosure/schema.h"

namespace kura::disclosure {

enum class FileKind { kTable, kText, kJson, kFigure, kOther };

// Lower-case extension without the dot ("csv"), or empty.
std::string FileExtension(absl::string_view path);

// csv/tsv: table; txt/md: text; json; png/pdf: figure; anything else: other.
FileKind KindOf(absl::string_view extension);

// Type (by extension and, for PNG, PDF and text, by content) and size cap.
std::vector<Finding> CheckTypeAndSize(absl::string_view path, absl::string_view content,
                                      const Policy& policy);

// Row cap, identifier-like column names (the schema's unit and holding columns, and common
// identifier names) and day-level dates in a table's fields.
std::vector<Finding> CheckTableContent(const CsvDocument& document, const Schema& schema,
                                       const Policy& policy);

// Day-level dates in free text.
std::vector<Finding> CheckTextContent(absl::string_view text, const Policy& policy);

// Tokens of a table or text that could be identifier values: 2 to 64 characters with both a
// letter and a digit, or 6 or more digits.
void CollectIdentifierCandidates(const CsvDocument& document,
                                 absl::flat_hash_set<std::string>* out);
void CollectIdentifierCandidates(absl::string_view text, absl::flat_hash_set<std::string>* out);

// Which of `candidates` occur as values of a unit_id or holding_id column of any schema table.
absl::StatusOr<absl::flat_hash_set<std::string>> FindIdentifierValues(
    const Schema& schema, const absl::flat_hash_set<std::string>& candidates, int threads);

// True for YYYY-MM-DD, YYYY/MM/DD, DD/MM/YYYY, YYYY年M月D日-like day-level dates.
bool LooksLikeDayDate(absl::string_view token);

}  // namespace kura::disclosure
