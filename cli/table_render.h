#pragma once

// A submitted table (CSV or TSV) shown to its reviewer: parsed, matched against the checker's
// flagged cells (docs/disclosure-report.md) and drawn as aligned columns with the flagged rows
// marked in a left margin. Pure functions; every cell goes through Neutralize.

#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace kura::cli {

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
};

// Parses delimited text as RFC 4180 does (quoted fields may hold the delimiter, quotes and
// newlines; CRLF or LF ends a record). Never fails: a malformed file is shown as it reads.
Table ParseDelimited(absl::string_view text, char delimiter);

// The rows the checker's cells flag. A cell matches a row when each of its key's dimensions
// that is a header column holds the key's value there (long form); a key with exactly one
// dimension that is not a header column but whose value is one names that column of the row
// (wide form).
struct RowMark {
  bool fail = false;                                         // else review
  std::vector<std::pair<std::string, std::string>> columns;  // wide form: column, verdict
};
struct TableMarks {
  std::map<size_t, RowMark> rows;  // by index into Table::rows
  size_t unmatched = 0;            // flagged cells no row holds
};
// `cells`: a report file's "cells" array; cells whose verdict is not fail or review are
// ignored.
TableMarks MarkFlaggedRows(const Table& table, const nlohmann::json& cells);

struct TableLimits {
  size_t max_rows = 200;
  size_t max_column_width = 24;
};

// The table drawn in aligned columns (numeric columns right-aligned, cells wider than the cap
// cut with "…"), each line led by a margin: "!! " for a row with a failing cell, "?  " for
// one under review; wide-form rows name their flagged columns after the row. Rows beyond
// `limits.max_rows` are counted (with how many of them are flagged) and `saved_path` named;
// `complete` false says the bytes parsed were only the start of the file.
std::string RenderTable(const Table& table, const TableMarks& marks, const TableLimits& limits,
                        bool complete, const std::string& saved_path);

}  // namespace kura::cli
