#include "disclosure/mitigation.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "disclosure/number.h"
#include "disclosure/rules.h"

namespace kura::disclosure {
namespace {

std::string KeyText(const CellReport& cell) {
  std::string out;
  for (const auto& [dim, value] : cell.key)
    absl::StrAppend(&out, out.empty() ? "" : " ", dim, "=", value);
  return out.empty() ? "(whole table)" : out;
}

std::string RuleNames(const CellReport& cell) {
  std::string out;
  for (const auto& f : cell.rules) {
    if (f.verdict == Verdict::kFail) absl::StrAppend(&out, out.empty() ? "" : ", ", f.rule);
  }
  return out;
}

void Round(CsvDocument& doc, const FileReport& report, const std::vector<CellLocation>& locations,
           const Policy& policy, MitigationReport& out) {
  Policy rounding = policy;
  if (rounding.rounding == RoundingMethod::kNone) {
    rounding.rounding = RoundingMethod::kBase;
    rounding.rounding_base = 5;
    out.actions.push_back("the policy does not round; rounded to base 5");
  }
  size_t changed = 0;
  for (size_t i = 0; i < report.cells.size() && i < locations.size(); ++i) {
    std::string& field = doc.rows[locations[i].row][locations[i].column];
    double v = 0;
    if (IsSuppressedText(field) || !ParseNumber(field, &v) || v != std::floor(v) ||
        std::fabs(v) >= 9e15) {
      continue;
    }
    const int64_t rounded = RoundCount(static_cast<int64_t>(v), rounding);
    if (static_cast<double>(rounded) == v) continue;
    out.actions.push_back(absl::StrCat(KeyText(report.cells[i]), ": ", field, " -> ", rounded));
    field = absl::StrCat(rounded);
    ++changed;
  }
  out.actions.push_back(absl::StrCat(changed, " counts rounded"));
}

void Suppress(CsvDocument& doc, const FileReport& report,
              const std::vector<CellLocation>& locations, MitigationReport& out) {
  size_t changed = 0;
  for (size_t i = 0; i < report.cells.size(); ++i) {
    const CellReport& cell = report.cells[i];
    if (cell.verdict != Verdict::kFail) continue;
    if (i >= locations.size()) {
      out.actions.push_back(
          absl::StrCat(KeyText(cell), ": failing but not in the table, nothing to suppress"));
      continue;
    }
    std::string& field = doc.rows[locations[i].row][locations[i].column];
    out.actions.push_back(absl::StrCat(KeyText(cell), ": ", field, " -> ", kSuppressedMark, " (",
                                       RuleNames(cell), ")"));
    field = kSuppressedMark;
    ++changed;
  }
  out.actions.push_back(absl::StrCat(changed,
                                     " cells suppressed (primary suppression only; "
                                     "margins or totals may still let a reader recover them)"));
}

}  // namespace

absl::StatusOr<MitigationMethod> ParseMitigationMethod(absl::string_view text) {
  if (text == "none") return MitigationMethod::kNone;
  if (text == "round") return MitigationMethod::kRound;
  if (text == "suppress") return MitigationMethod::kSuppress;
  return absl::InvalidArgumentError(
      absl::StrCat("--mitigate: \"", text, "\" (expected none, round or suppress)"));
}

MitigationReport MitigateDocument(CsvDocument& document, const FileReport& report,
                                  const std::vector<CellLocation>& locations, bool frequency,
                                  MitigationMethod method, const Policy& policy) {
  MitigationReport out;
  out.source = report.path;
  if (method == MitigationMethod::kRound) {
    out.method = "round";
    if (frequency) {
      Round(document, report, locations, policy, out);
    } else {
      out.actions.push_back(
          "rounding applies to frequency tables; magnitude values left as they are");
    }
  } else if (method == MitigationMethod::kSuppress) {
    out.method = "suppress";
    Suppress(document, report, locations, out);
  }
  return out;
}

}  // namespace kura::disclosure
