#include "disclosure/rules.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "disclosure/number.h"

namespace kura::disclosure {
namespace {

Verdict ActionVerdict(RuleAction action) {
  switch (action) {
    case RuleAction::kAllow:
      return Verdict::kPass;
    case RuleAction::kReview:
      return Verdict::kReview;
    case RuleAction::kFail:
      return Verdict::kFail;
  }
  return Verdict::kFail;
}

// A share as a percentage with one decimal ("95.9"); exact shares print without decimals.
std::string Percent(double share) {
  const double p = 100 * share;
  return p == std::floor(p) ? FormatNumber(p) : absl::StrFormat("%.1f", p);
}

double SumTop(const std::vector<double>& top, int n) {
  double s = 0;
  for (int i = 0; i < n && i < static_cast<int>(top.size()); ++i) s += top[static_cast<size_t>(i)];
  return s;
}

bool JudgesDominance(Statistic s) { return s == Statistic::kSum || s == Statistic::kMean; }

void AddFinding(std::vector<Finding>& out, const char* rule, RuleAction action,
                std::string detail) {
  if (action == RuleAction::kAllow) return;
  out.push_back(Finding{rule, ActionVerdict(action), std::move(detail)});
}

void JudgeMagnitude(const CellEvidence& e, const CellContext& context, const TableSpec& spec,
                    const Policy& policy, std::vector<Finding>& out) {
  if (!JudgesDominance(spec.statistic) || e.units == 0) return;
  if (policy.dominance_n > 0 && e.unit_abs_total > 0) {
    const double top = SumTop(e.top, policy.dominance_n);
    if (top >= policy.dominance_k * e.unit_abs_total) {
      AddFinding(out, "dominance", RuleAction::kFail,
                 absl::StrCat("largest ", policy.dominance_n, " units hold ",
                              Percent(top / e.unit_abs_total), "% >= ",
                              FormatNumber(100 * policy.dominance_k), "% of the cell total"));
    }
  }
  if (policy.p_percent > 0 && !e.top.empty() && e.top[0] > 0) {
    const double t1 = e.top[0];
    const double t2 = e.top.size() > 1 ? e.top[1] : 0;
    const double rest = e.unit_abs_total - t1 - t2;
    if (rest < policy.p_percent * t1) {
      AddFinding(out, "p_percent", RuleAction::kFail,
                 absl::StrCat("units other than the two largest hold ", FormatNumber(rest),
                              ", less than ", FormatNumber(100 * policy.p_percent),
                              "% of the largest (", FormatNumber(t1), ")"));
    }
  }
  if (context.has_holdings && policy.holding_dominance_n > 0 && e.holding_abs_total > 0) {
    const double top = SumTop(e.top_holdings, policy.holding_dominance_n);
    if (top >= policy.holding_dominance_k * e.holding_abs_total) {
      AddFinding(out, "holding_dominance", RuleAction::kFail,
                 absl::StrCat("largest ", policy.holding_dominance_n, " holdings hold ",
                              Percent(top / e.holding_abs_total),
                              "% >= ", FormatNumber(100 * policy.holding_dominance_k),
                              "% of the cell total"));
    }
  }
}

}  // namespace

bool IsSuppressedText(absl::string_view text) {
  return text == "*" || text == "[REDACTED]" || text == "REDACTED" || text == "-" ||
         IsMissing(text);
}

bool ValueMatches(const CellEvidence& e, const SubmittedValue& submitted, const TableSpec& spec,
                  const Policy& policy, std::string* detail) {
  double v = 0;
  if (!ParseNumber(submitted.text, &v)) {
    *detail = absl::StrCat("submitted \"", submitted.text.substr(0, 40), "\" is not a number");
    return false;
  }
  if (!e.has_statistic) {
    *detail = absl::StrCat("submitted ", submitted.text, " but the ", StatisticName(spec.statistic),
                           " of this cell is undefined");
    return false;
  }
  const double x = e.statistic;
  if (spec.statistic == Statistic::kCount) {
    const int64_t exact = static_cast<int64_t>(x);
    if (v == x || v == static_cast<double>(RoundCount(exact, policy))) return true;
    *detail = absl::StrCat("submitted ", submitted.text, ", recomputed ", exact, " distinct units",
                           policy.rounding != RoundingMethod::kNone
                               ? absl::StrCat(" (rounded: ", RoundCount(exact, policy), ")")
                               : "");
    return false;
  }
  const double tolerance =
      spec.tolerance.has_value()
          ? *spec.tolerance
          : std::max(policy.tolerance_absolute, policy.tolerance_relative * std::fabs(x));
  if (std::fabs(v - x) <= tolerance) return true;
  *detail = absl::StrCat("submitted ", submitted.text, ", recomputed ", FormatNumber(x),
                         " (tolerance ", FormatNumber(tolerance), ")");
  return false;
}

namespace {

void JudgeMismatch(const CellEvidence& e, const SubmittedValue& submitted,
                   const CellContext& context, const TableSpec& spec, const Policy& policy,
                   std::vector<Finding>& out) {
  if (!submitted.present || submitted.suppressed || spec.statistic == Statistic::kRegression)
    return;
  std::string detail;
  if (!context.recomputed && spec.statistic != Statistic::kCount) {
    out.push_back(
        {"mismatch", Verdict::kFail,
         absl::StrCat("submitted ", submitted.text, " but no records fall in this cell")});
  } else if (!ValueMatches(e, submitted, spec, policy, &detail)) {
    out.push_back({"mismatch", Verdict::kFail, detail});
  }
}

// Threshold and the holding threshold: a cell of too few units or institutions.
void JudgeCounts(const CellEvidence& e, const CellContext& context, const TableSpec& spec,
                 const Policy& policy, std::vector<Finding>& out) {
  const bool empty = spec.statistic == Statistic::kCount ? e.units == 0 : e.rows == 0;
  if (empty) return;
  if (e.units < policy.threshold) {
    AddFinding(out, "threshold", RuleAction::kFail,
               absl::StrCat(e.units, " distinct units < ", policy.threshold));
  }
  if (context.has_holdings && policy.holding_threshold > 0 &&
      e.holdings < policy.holding_threshold) {
    AddFinding(out, "holding_threshold", RuleAction::kFail,
               absl::StrCat(e.holdings, " distinct holdings < ", policy.holding_threshold));
  }
}

// Class disclosure in a frequency table: zero cells and 100% cells.
void JudgeZeros(const CellEvidence& e, const CellContext& context, const TableSpec& spec,
                const Policy& policy, std::vector<Finding>& out) {
  if (spec.statistic != Statistic::kCount || spec.IsStructuralZero(e.key)) return;
  if (e.units == 0) AddFinding(out, "zeros", policy.zeros, "zero cell (not declared structural)");
  if (e.units > 0 && context.hundred_percent) {
    AddFinding(out, "zeros", policy.zeros, "100% cell: every unit of its row falls in this column");
  }
}

// Negative contributions, missing values, single-unit extremes and regression freedom.
void JudgeValues(const CellEvidence& e, const TableSpec& spec, const Policy& policy,
                 std::vector<Finding>& out) {
  if (spec.statistic != Statistic::kCount && e.negative_units > 0) {
    AddFinding(
        out, "negative", policy.negative,
        absl::StrCat(e.negative_units,
                     " units contribute negative amounts; dominance judged on absolute values"));
  }
  if (spec.statistic != Statistic::kCount && e.missing > 0) {
    AddFinding(out, "missing", policy.missing, absl::StrCat(e.missing, " records have no value"));
  }
  if ((spec.statistic == Statistic::kMin && e.min_single_unit) ||
      (spec.statistic == Statistic::kMax && e.max_single_unit)) {
    AddFinding(out, "endpoint", policy.endpoint,
               absl::StrCat("the ", StatisticName(spec.statistic), " is one unit's own value"));
  }
  if (spec.statistic == Statistic::kRegression) {
    const int64_t parameters = static_cast<int64_t>(spec.covariates.size()) + 1;
    const int64_t dof = e.units - parameters;
    if (dof < policy.dof) {
      AddFinding(out, "dof", RuleAction::kFail,
                 absl::StrCat("residual degrees of freedom ", dof, " (", e.units, " units - ",
                              parameters, " parameters) < ", policy.dof));
    }
  }
}

}  // namespace

std::vector<Finding> JudgeCell(const CellEvidence& e, const SubmittedValue& submitted,
                               const CellContext& context, const TableSpec& spec,
                               const Policy& policy) {
  std::vector<Finding> out;
  JudgeMismatch(e, submitted, context, spec, policy, out);
  if (submitted.present && submitted.suppressed) return out;
  JudgeCounts(e, context, spec, policy, out);
  JudgeMagnitude(e, context, spec, policy, out);
  JudgeZeros(e, context, spec, policy, out);
  JudgeValues(e, spec, policy, out);
  return out;
}

}  // namespace kura::disclosure
