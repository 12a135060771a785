#include "disclosure/rules.h"

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kura::disclosure {
namespace {

// Evidence of a magnitude cell whose units contribute `contributions`.
CellEvidence Magnitude(std::vector<double> contributions) {
  CellEvidence e;
  e.units = static_cast<int64_t>(contributions.size());
  e.rows = e.units;
  e.values = e.units;
  for (double c : contributions) {
    e.sum += c;
    e.unit_abs_total += std::abs(c);
    e.top.push_back(std::abs(c));
    if (c < 0) ++e.negative_units;
  }
  std::sort(e.top.begin(), e.top.end(), std::greater<>());
  e.has_statistic = true;
  e.statistic = e.sum;
  return e;
}

TableSpec Spec(Statistic statistic) {
  TableSpec spec;
  spec.statistic = statistic;
  spec.value = statistic == Statistic::kCount ? "" : "cost";
  spec.rows = {"region"};
  return spec;
}

std::vector<std::string> Fired(const std::vector<Finding>& findings) {
  std::vector<std::string> names;
  for (const auto& f : findings) names.push_back(f.rule);
  return names;
}

std::vector<std::string> Judge(const CellEvidence& e, const Policy& policy,
                               Statistic statistic = Statistic::kSum, CellContext context = {}) {
  context.recomputed = true;
  return Fired(JudgeCell(e, SubmittedValue{}, context, Spec(statistic), policy));
}

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Not;

TEST(ThresholdTest, NineUnitsFailTenPassForEveryStatistic) {
  Policy policy;
  policy.dominance_n = 0;
  policy.p_percent = 0;
  for (Statistic s : {Statistic::kCount, Statistic::kSum, Statistic::kMean, Statistic::kMedian,
                      Statistic::kMin, Statistic::kMax, Statistic::kStd, Statistic::kMode}) {
    CellEvidence nine = Magnitude(std::vector<double>(9, 10.0));
    CellEvidence ten = Magnitude(std::vector<double>(10, 10.0));
    nine.min_single_unit = ten.min_single_unit = false;
    nine.max_single_unit = ten.max_single_unit = false;
    EXPECT_THAT(Judge(nine, policy, s), ElementsAre("threshold")) << StatisticName(s);
    EXPECT_THAT(Judge(ten, policy, s), IsEmpty()) << StatisticName(s);
  }
}

TEST(DominanceTest, KExactlyReachedFails) {
  Policy policy;  // n = 2, k = 0.9
  policy.p_percent = 0;
  // Two units hold exactly 90 of 100.
  EXPECT_THAT(Judge(Magnitude({45, 45, 1.25, 1.25, 1.25, 1.25, 1.25, 1.25, 1.25, 1.25}), policy),
              ElementsAre("dominance"));
  // 89 of 100: passes.
  EXPECT_THAT(
      Judge(Magnitude({45, 44, 1.375, 1.375, 1.375, 1.375, 1.375, 1.375, 1.375, 1.375}), policy),
      IsEmpty());
}

TEST(DominanceTest, JudgedOnAbsoluteValuesAndFlagsNegatives) {
  Policy policy;
  policy.p_percent = 0;
  // Net sum 0, but two units hold 90 of 100 in absolute terms.
  const auto fired =
      Judge(Magnitude({-45, 45, 1.25, -1.25, 1.25, -1.25, 1.25, -1.25, 1.25, -1.25}), policy);
  EXPECT_THAT(fired, ElementsAre("dominance", "negative"));
}

TEST(DominanceTest, FrequencyTablesAreNotJudgedByDominance) {
  Policy policy;
  CellEvidence e = Magnitude({100, 1, 1, 1, 1, 1, 1, 1, 1, 1});
  e.statistic = 10;
  EXPECT_THAT(Judge(e, policy, Statistic::kCount), IsEmpty());
  EXPECT_THAT(Judge(e, policy, Statistic::kMedian), IsEmpty());
  EXPECT_THAT(Judge(e, policy, Statistic::kMean), Contains("dominance"));
}

TEST(PPercentTest, ExactlyAtTheEdgePasses) {
  Policy policy;  // p = 0.1
  policy.dominance_n = 0;
  // (112 - 100 - 2) / 100 = 0.1: not below p.
  EXPECT_THAT(Judge(Magnitude({100, 2, 1.25, 1.25, 1.25, 1.25, 1.25, 1.25, 1.25, 1.25}), policy),
              IsEmpty());
  // (111.9 - 100 - 2) / 100 = 0.099: fails.
  EXPECT_THAT(
      Judge(Magnitude({100, 2, 1.2375, 1.2375, 1.2375, 1.2375, 1.2375, 1.2375, 1.2375, 1.2375}),
            policy),
      ElementsAre("p_percent"));
}

TEST(HoldingRulesTest, ThresholdAndDominanceWhenConfigured) {
  Policy policy;
  policy.dominance_n = 0;
  policy.p_percent = 0;
  CellEvidence e = Magnitude(std::vector<double>(10, 10.0));
  e.holdings = 2;
  e.top_holdings = {60, 40};
  e.holding_abs_total = 100;
  CellContext holdings{true, false, true};
  EXPECT_THAT(Judge(e, policy, Statistic::kSum, holdings), IsEmpty());  // Not configured.
  policy.holding_threshold = 3;
  EXPECT_THAT(Judge(e, policy, Statistic::kSum, holdings), ElementsAre("holding_threshold"));
  e.holdings = 3;
  EXPECT_THAT(Judge(e, policy, Statistic::kSum, holdings), IsEmpty());
  policy.holding_dominance_n = 1;
  policy.holding_dominance_k = 0.6;
  EXPECT_THAT(Judge(e, policy, Statistic::kSum, holdings), ElementsAre("holding_dominance"));
  policy.holding_dominance_k = 0.61;
  EXPECT_THAT(Judge(e, policy, Statistic::kSum, holdings), IsEmpty());
}

TEST(ZerosTest, ZeroAndHundredPercentCellsUnlessStructural) {
  Policy policy;
  CellEvidence zero;
  zero.key = {"A"};
  zero.has_statistic = true;
  EXPECT_THAT(Judge(zero, policy, Statistic::kCount), ElementsAre("zeros"));
  policy.zeros = RuleAction::kAllow;
  EXPECT_THAT(Judge(zero, policy, Statistic::kCount), IsEmpty());
  policy.zeros = RuleAction::kReview;
  auto findings = JudgeCell(zero, {}, {}, Spec(Statistic::kCount), policy);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].verdict, Verdict::kReview);
  TableSpec structural = Spec(Statistic::kCount);
  structural.structural_zeros = {{{"region", "A"}}};
  EXPECT_THAT(Fired(JudgeCell(zero, {}, {}, structural, policy)), IsEmpty());
  CellEvidence full = Magnitude(std::vector<double>(12, 1.0));
  full.statistic = 12;
  EXPECT_THAT(Judge(full, policy, Statistic::kCount, CellContext{false, true, true}),
              ElementsAre("zeros"));
}

TEST(MissingTest, ReviewWhenConfigured) {
  Policy policy;
  policy.dominance_n = 0;
  CellEvidence e = Magnitude(std::vector<double>(10, 10.0));
  e.missing = 2;
  EXPECT_THAT(Judge(e, policy, Statistic::kMean), ElementsAre("missing"));
  policy.missing = RuleAction::kAllow;
  EXPECT_THAT(Judge(e, policy, Statistic::kMean), IsEmpty());
}

TEST(EndpointTest, SingleUnitExtremesFailUnlessAllowed) {
  Policy policy;
  CellEvidence e = Magnitude(std::vector<double>(10, 10.0));
  e.min_single_unit = true;
  e.max_single_unit = false;
  EXPECT_THAT(Judge(e, policy, Statistic::kMin), ElementsAre("endpoint"));
  EXPECT_THAT(Judge(e, policy, Statistic::kMax), IsEmpty());
  policy.endpoint = RuleAction::kAllow;
  EXPECT_THAT(Judge(e, policy, Statistic::kMin), IsEmpty());
}

TEST(DofTest, UnitsMinusParametersBelowDFails) {
  Policy policy;  // D = 10
  TableSpec spec;
  spec.statistic = Statistic::kRegression;
  spec.value = "cost";
  spec.covariates = {"age"};  // Two parameters with the intercept.
  CellEvidence e = Magnitude(std::vector<double>(12, 1.0));
  e.has_statistic = false;
  EXPECT_THAT(Fired(JudgeCell(e, {}, {}, spec, policy)), IsEmpty());
  e = Magnitude(std::vector<double>(11, 1.0));
  EXPECT_THAT(Fired(JudgeCell(e, {}, {}, spec, policy)), ElementsAre("dof"));
}

TEST(MismatchTest, ExactForCountsRoundingAwareAndToleranceForReals) {
  Policy policy;  // Rounds to base 5.
  CellEvidence count = Magnitude(std::vector<double>(12, 1.0));
  count.statistic = 12;
  auto judge = [&](const CellEvidence& e, Statistic s, const std::string& text) {
    return Fired(JudgeCell(e, SubmittedValue{true, text, false}, CellContext{false, false, true},
                           Spec(s), policy));
  };
  EXPECT_THAT(judge(count, Statistic::kCount, "12"), IsEmpty());
  EXPECT_THAT(judge(count, Statistic::kCount, "10"), IsEmpty());  // 12 rounded to base 5.
  EXPECT_THAT(judge(count, Statistic::kCount, "11"), ElementsAre("mismatch"));
  EXPECT_THAT(judge(count, Statistic::kCount, "twelve"), ElementsAre("mismatch"));
  policy.dominance_n = 0;
  policy.p_percent = 0;
  CellEvidence mean = Magnitude(std::vector<double>(10, 3.0));
  mean.statistic = 1.0 / 3.0;
  EXPECT_THAT(judge(mean, Statistic::kMean, "0.3333333333333333"), IsEmpty());
  EXPECT_THAT(judge(mean, Statistic::kMean, "0.33"), ElementsAre("mismatch"));
  TableSpec loose = Spec(Statistic::kMean);
  loose.tolerance = 0.005;
  EXPECT_THAT(Fired(JudgeCell(mean, SubmittedValue{true, "0.33", false},
                              CellContext{false, false, true}, loose, policy)),
              IsEmpty());
  // A suppressed cell discloses nothing and is not compared.
  EXPECT_THAT(Fired(JudgeCell(Magnitude({1}), SubmittedValue{true, "*", true}, {},
                              Spec(Statistic::kSum), policy)),
              IsEmpty());
}

}  // namespace
}  // namespace kura::disclosure
