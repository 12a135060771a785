#include "disclosure/submitted_table.h"

#include <algorithm>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status.h"

namespace kura::disclosure {
namespace {

int Find(const std::vector<std::string>& header, const std::string& name) {
  auto it = std::find(header.begin(), header.end(), name);
  return it == header.end() ? -1 : static_cast<int>(it - header.begin());
}

std::string ExpectedHeader(const TableSpec& spec) {
  std::vector<std::string> dims = spec.Dimensions();
  dims.push_back("value");
  std::string out = absl::StrCat("long form: ", absl::StrJoin(dims, ","));
  if (spec.cols.size() == 1) {
    absl::StrAppend(&out, "; or wide form: ", absl::StrJoin(spec.rows, ","),
                    spec.rows.empty() ? "" : ",", "<one column per ", spec.cols[0], " value>");
  }
  return out;
}

}  // namespace

absl::StatusOr<SubmittedTable> InterpretSubmittedTable(CsvDocument document,
                                                       absl::string_view source,
                                                       const TableSpec& spec) {
  SubmittedTable table;
  const std::vector<std::string> dims = spec.Dimensions();
  const auto& header = document.header;
  std::vector<int> long_index;
  for (const auto& d : dims) long_index.push_back(Find(header, d));
  const bool long_form =
      std::none_of(long_index.begin(), long_index.end(), [](int i) { return i < 0; }) &&
      header.size() == dims.size() + 1;
  std::vector<int> row_index;
  for (const auto& d : spec.rows) row_index.push_back(Find(header, d));
  const bool wide_form =
      !long_form && spec.cols.size() == 1 &&
      std::none_of(row_index.begin(), row_index.end(), [](int i) { return i < 0; }) &&
      header.size() > spec.rows.size() && Find(header, spec.cols[0]) < 0;
  if (!long_form && !wide_form) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ":1: header \"", absl::StrJoin(header, ","),
                     "\" does not match the spec (", ExpectedHeader(spec), ")"));
  }
  table.wide = wide_form;
  size_t value_column = 0;  // Long form: the one column that is not a dimension.
  while (std::find(long_index.begin(), long_index.end(), static_cast<int>(value_column)) !=
         long_index.end())
    ++value_column;
  std::map<std::vector<std::string>, int64_t> seen;
  auto add = [&](std::vector<std::string> key, size_t row, size_t column) -> absl::Status {
    const int64_t line = document.lines[row];
    auto [it, inserted] = seen.emplace(key, line);
    if (!inserted) {
      return absl::InvalidArgumentError(
          absl::StrCat(source, ":", line, ": cell ", absl::StrJoin(key, "/"),
                       " given twice (first on line ", it->second, ")"));
    }
    table.cells.push_back(SubmittedCell{std::move(key), row, column, line});
    return absl::OkStatus();
  };
  for (size_t r = 0; r < document.rows.size(); ++r) {
    const auto& row = document.rows[r];
    if (long_form) {
      std::vector<std::string> key;
      for (int i : long_index) key.push_back(row[static_cast<size_t>(i)]);
      KURA_RETURN_IF_ERROR(add(std::move(key), r, value_column));
      continue;
    }
    for (size_t c = 0; c < header.size(); ++c) {
      if (std::find(row_index.begin(), row_index.end(), static_cast<int>(c)) != row_index.end())
        continue;
      std::vector<std::string> key;
      for (int i : row_index) key.push_back(row[static_cast<size_t>(i)]);
      key.push_back(header[c]);
      KURA_RETURN_IF_ERROR(add(std::move(key), r, c));
    }
  }
  table.document = std::move(document);
  return table;
}

absl::StatusOr<SubmittedTable> ReadSubmittedTable(const std::string& path, const TableSpec& spec) {
  const char delimiter = absl::EndsWithIgnoreCase(path, ".tsv") ? '\t' : ',';
  KURA_ASSIGN_OR_RETURN(CsvDocument document, ReadCsvFile(path, delimiter));
  KURA_ASSIGN_OR_RETURN(SubmittedTable table,
                        InterpretSubmittedTable(std::move(document), path, spec));
  table.delimiter = delimiter;
  return table;
}

}  // namespace kura::disclosure
