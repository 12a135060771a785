#include "cli/table_render.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli/terminal_text.h"

namespace kura::cli {
namespace {

constexpr char kFailMargin[] = "!! ";
constexpr char kReviewMargin[] = "?  ";
constexpr char kPlainMargin[] = "   ";

// A key's value as the table would spell it: strings as they are, numbers as JSON writes them.
std::string KeyText(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

std::string Trimmed(absl::string_view text) {
  return std::string(absl::StripAsciiWhitespace(text));
}

// Rows indexed by the values of a set of columns, built once per set the cells use.
class RowIndex {
 public:
  explicit RowIndex(const Table& table) : table_(table) {}

  const std::vector<size_t>& Find(const std::vector<size_t>& columns,
                                  const std::vector<std::string>& values) {
    auto [it, inserted] = indexes_.try_emplace(columns);
    if (inserted) {
      for (size_t r = 0; r < table_.rows.size(); ++r) {
        std::vector<std::string> row_values;
        for (size_t c : columns) {
          row_values.push_back(c < table_.rows[r].size() ? Trimmed(table_.rows[r][c]) : "");
        }
        it->second[Joined(row_values)].push_back(r);
      }
    }
    auto found = it->second.find(Joined(values));
    return found == it->second.end() ? none_ : found->second;
  }

 private:
  static std::string Joined(const std::vector<std::string>& values) {
    return absl::StrJoin(values, "\x1f");
  }
  const Table& table_;
  std::map<std::vector<size_t>, std::unordered_map<std::string, std::vector<size_t>>> indexes_;
  const std::vector<size_t> none_;
};

bool IsSuppressionMarker(absl::string_view value) {
  return value == "*" || value == "-" || value == "REDACTED" || value == "[REDACTED]" ||
         value == "NA" || value == "N/A";
}

// Right-aligned when every non-empty shown value reads as a number (suppression markers aside)
// and none is a zero-padded code.
bool IsNumericColumn(const Table& table, size_t column, size_t rows) {
  bool any = false;
  for (size_t r = 0; r < rows; ++r) {
    if (column >= table.rows[r].size()) continue;
    std::string value = Trimmed(table.rows[r][column]);
    if (value.empty() || IsSuppressionMarker(value)) continue;
    double number;
    if (!absl::SimpleAtod(value, &number)) return false;
    // "01", "007": codes (prefectures, categories), read better left-aligned.
    if (value.size() > 1 && value[0] == '0' && absl::ascii_isdigit(value[1])) return false;
    any = true;
  }
  return any;
}

std::string WideNote(const RowMark& mark) {
  std::vector<std::string> parts;
  for (const auto& [column, verdict] : mark.columns) {
    parts.push_back(absl::StrCat(Neutralize(column, TextKind::kCell), " ", verdict));
  }
  return parts.empty() ? "" : absl::StrCat("  <- ", absl::StrJoin(parts, ", "));
}

}  // namespace

Table ParseDelimited(absl::string_view text, char delimiter) {
  if (text.substr(0, 3) == "\xef\xbb\xbf") text.remove_prefix(3);  // a byte order mark
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false;
  bool field_started = false;
  const auto end_field = [&] {
    record.push_back(std::move(field));
    field.clear();
    field_started = false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c != '"') {
        field.push_back(c);
      } else if (i + 1 < text.size() && text[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else {
        quoted = false;
      }
    } else if (c == '"' && !field_started) {
      quoted = field_started = true;
    } else if (c == delimiter) {
      end_field();
    } else if (c == '\n' || (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n')) {
      if (c == '\r') ++i;
      end_field();
      records.push_back(std::move(record));
      record.clear();
    } else {
      field.push_back(c);
      field_started = true;
    }
  }
  if (field_started || !field.empty() || !record.empty()) {
    end_field();
    records.push_back(std::move(record));
  }
  Table table;
  if (records.empty()) return table;
  table.header = std::move(records.front());
  table.rows.assign(std::make_move_iterator(records.begin() + 1),
                    std::make_move_iterator(records.end()));
  return table;
}

TableMarks MarkFlaggedRows(const Table& table, const nlohmann::json& cells) {
  TableMarks marks;
  if (!cells.is_array()) return marks;
  std::map<std::string, size_t> column_of;
  for (size_t c = 0; c < table.header.size(); ++c) column_of.emplace(Trimmed(table.header[c]), c);
  RowIndex index(table);
  for (const nlohmann::json& cell : cells) {
    if (!cell.is_object()) continue;
    const std::string verdict = cell.value("verdict", "");
    if (verdict != "fail" && verdict != "review") continue;
    const nlohmann::json& key = cell.contains("key") ? cell["key"] : nlohmann::json();
    // Key dimensions sorted by column, so that one index serves every cell of a table.
    std::map<size_t, std::string> constraints;
    std::vector<std::string> wide_columns;  // values of dimensions that are not columns
    if (key.is_object()) {
      for (const auto& [dimension, value] : key.items()) {
        auto column = column_of.find(dimension);
        if (column != column_of.end()) {
          constraints[column->second] = Trimmed(KeyText(value));
        } else {
          wide_columns.push_back(Trimmed(KeyText(value)));
        }
      }
    }
    const bool wide = wide_columns.size() == 1 && column_of.count(wide_columns[0]);
    if (constraints.empty() || (!wide_columns.empty() && !wide)) {
      ++marks.unmatched;
      continue;
    }
    std::vector<size_t> columns;
    std::vector<std::string> values;
    for (const auto& [column, value] : constraints) {
      columns.push_back(column);
      values.push_back(value);
    }
    const std::vector<size_t>& rows = index.Find(columns, values);
    if (rows.empty()) ++marks.unmatched;
    for (size_t row : rows) {
      RowMark& mark = marks.rows[row];
      mark.fail = mark.fail || verdict == "fail";
      if (wide) mark.columns.emplace_back(wide_columns[0], verdict);
    }
  }
  return marks;
}

std::string RenderTable(const Table& table, const TableMarks& marks, const TableLimits& limits,
                        bool complete, const std::string& saved_path) {
  const size_t shown = std::min(table.rows.size(), limits.max_rows);
  size_t columns = table.header.size();
  for (size_t r = 0; r < shown; ++r) columns = std::max(columns, table.rows[r].size());
  // Every cell neutralised and cut once; the widths come from what is shown.
  const auto cell_text = [&](const std::vector<std::string>& row, size_t c) {
    return c < row.size() ? FitWidth(Neutralize(row[c], TextKind::kCell), limits.max_column_width)
                          : std::string();
  };
  std::vector<std::vector<std::string>> lines;
  lines.reserve(shown + 1);
  lines.emplace_back();
  for (size_t c = 0; c < columns; ++c) lines.back().push_back(cell_text(table.header, c));
  for (size_t r = 0; r < shown; ++r) {
    lines.emplace_back();
    for (size_t c = 0; c < columns; ++c) lines.back().push_back(cell_text(table.rows[r], c));
  }
  std::vector<size_t> widths(columns, 0);
  std::vector<bool> numeric(columns, false);
  for (size_t c = 0; c < columns; ++c) {
    for (const auto& line : lines) widths[c] = std::max(widths[c], DisplayWidth(line[c]));
    numeric[c] = IsNumericColumn(table, c, shown);
  }
  std::string out;
  for (size_t l = 0; l < lines.size(); ++l) {
    const RowMark* mark = nullptr;
    if (l > 0) {
      auto it = marks.rows.find(l - 1);
      if (it != marks.rows.end()) mark = &it->second;
    }
    out += mark == nullptr ? kPlainMargin : mark->fail ? kFailMargin : kReviewMargin;
    std::string line;
    for (size_t c = 0; c < columns; ++c) {
      if (c > 0) line += "  ";
      line += Pad(lines[l][c], widths[c], numeric[c] && l > 0);
    }
    absl::StrAppend(&out, absl::StripTrailingAsciiWhitespace(line),
                    mark == nullptr ? "" : WideNote(*mark), "\n");
  }
  if (shown < table.rows.size()) {
    size_t flagged = static_cast<size_t>(std::count_if(
        marks.rows.begin(), marks.rows.end(), [&](const auto& m) { return m.first >= shown; }));
    absl::StrAppend(&out, kPlainMargin, "… ", table.rows.size() - shown, " more rows",
                    flagged > 0 ? absl::StrCat(" (", flagged, " of them flagged)") : "",
                    " (saved to ", Neutralize(saved_path), ")\n");
  }
  if (!complete) {
    absl::StrAppend(&out, kPlainMargin, "… the file goes on beyond what was read (saved to ",
                    Neutralize(saved_path), ")\n");
  }
  if (marks.unmatched > 0) {
    absl::StrAppend(&out, kPlainMargin, marks.unmatched,
                    " flagged cell(s) match no row of the table (see the report above)\n");
  }
  return out;
}

}  // namespace kura::cli
