#include "disclosure/table_spec.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/status_matchers.h"

namespace kura::disclosure {
namespace {

using ::kura::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(TableSpecTest, ParsesEveryField) {
  KURA_ASSERT_OK_AND_ASSIGN(TableSpec spec,
                            ParseTableSpec(R"({"schema": "s", "table": "t", "output": "out/t1.csv",
      "rows": ["region"], "cols": ["sex"], "statistic": "mean", "value": "cost",
      "filter": [{"column": "year", "op": "=", "value": 2023}, {"column": "sex", "op": "in", "value": ["F", "M"]}],
      "structural_zeros": [{"sex": "M"}], "tolerance": 0.005})",
                                           "spec.json"));
  EXPECT_EQ(spec.statistic, Statistic::kMean);
  EXPECT_EQ(spec.value, "cost");
  EXPECT_THAT(spec.Dimensions(), ElementsAre("region", "sex"));
  ASSERT_EQ(spec.filters.size(), 2u);
  EXPECT_TRUE(spec.filters[0].numeric);
  EXPECT_EQ(spec.filters[1].op, FilterOp::kIn);
  EXPECT_TRUE(spec.IsStructuralZero({"A", "M"}));
  EXPECT_FALSE(spec.IsStructuralZero({"A", "F"}));
  EXPECT_EQ(*spec.tolerance, 0.005);
}

TEST(TableSpecTest, Regression) {
  KURA_ASSERT_OK_AND_ASSIGN(TableSpec spec,
                            ParseTableSpec(R"({"schema": "s", "table": "t", "output": "r.csv",
      "statistic": "regression", "dependent": "cost", "covariates": ["age", "year"]})",
                                           "r.json"));
  EXPECT_EQ(spec.statistic, Statistic::kRegression);
  EXPECT_EQ(spec.value, "cost");
  EXPECT_THAT(spec.covariates, ElementsAre("age", "year"));
}

struct FilterCase {
  FilterOp op;
  std::vector<std::string> values;
  std::string field;
  bool matches;
};

TEST(FilterTest, OperatorsCompareNumbersAsNumbersAndTextAsText) {
  auto make = [](FilterOp op, std::vector<std::string> values) {
    Filter f;
    f.op = op;
    f.values = values;
    f.numeric = true;
    for (const auto& v : values) {
      char* end = nullptr;
      f.numbers.push_back(strtod(v.c_str(), &end));
      if (*end != '\0') f.numeric = false;
    }
    return f;
  };
  const FilterCase cases[] = {
      {FilterOp::kEq, {"2023"}, "2023", true},
      {FilterOp::kEq, {"2023"}, "2023.0", true},
      {FilterOp::kEq, {"2023"}, "2022", false},
      {FilterOp::kNe, {"2023"}, "2022", true},
      {FilterOp::kLt, {"10"}, "9", true},
      {FilterOp::kLt, {"10"}, "10", false},
      {FilterOp::kLe, {"10"}, "10", true},
      {FilterOp::kGt, {"10"}, "9", false},
      {FilterOp::kGt, {"9"}, "10", true},
      {FilterOp::kGe, {"10"}, "10", true},
      {FilterOp::kLt, {"b"}, "a", true},
      {FilterOp::kGt, {"b"}, "a", false},
      {FilterOp::kIn, {"E11", "I10"}, "I10", true},
      {FilterOp::kIn, {"E11", "I10"}, "J45", false},
      {FilterOp::kEq, {"F"}, "F", true},
      {FilterOp::kEq, {"10"}, "ten", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(make(c.op, c.values).Matches(c.field), c.matches) << c.field << " vs " << c.values[0];
  }
}

struct BadSpec {
  std::string name;
  std::string json;
  std::string message;
};

class BadSpecTest : public ::testing::TestWithParam<BadSpec> {};

TEST_P(BadSpecTest, IsRefusedWithTheField) {
  EXPECT_THAT(ParseTableSpec(GetParam().json, "spec.json"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(GetParam().message)));
}

#define KURA_SPEC_HEAD R"({"schema": "s", "table": "t", "output": "o.csv", )"

INSTANTIATE_TEST_SUITE_P(
    Cases, BadSpecTest,
    ::testing::Values(
        BadSpec{"syntax", "{\n\"schema\": \"s\",\n}", "spec.json: invalid JSON: line 3"},
        BadSpec{"no_output", R"({"schema": "s", "table": "t", "statistic": "count"})",
                "spec.json.output: missing"},
        BadSpec{"statistic", KURA_SPEC_HEAD R"("statistic": "average", "value": "c"})",
                "spec.json.statistic: unknown statistic \"average\""},
        BadSpec{"no_value", KURA_SPEC_HEAD R"("statistic": "mean"})", "spec.json.value: missing"},
        BadSpec{"count_value", KURA_SPEC_HEAD R"("statistic": "count", "value": "c"})",
                "count takes no value column"},
        BadSpec{"op",
                KURA_SPEC_HEAD
                R"("statistic": "count", "filter": [{"column": "y", "op": "~", "value": 1}]})",
                "spec.json.filter[0].op: unknown operator \"~\""},
        BadSpec{"in_scalar",
                KURA_SPEC_HEAD
                R"("statistic": "count", "filter": [{"column": "y", "op": "in", "value": 1}]})",
                "filter[0].value: `in` takes a non-empty array"},
        BadSpec{"rows_type", KURA_SPEC_HEAD R"("statistic": "count", "rows": "region"})",
                "spec.json.rows: expected an array of strings"},
        BadSpec{"dup_dim", KURA_SPEC_HEAD R"("statistic": "count", "rows": ["a"], "cols": ["a"]})",
                "dimension \"a\" appears twice"},
        BadSpec{"zero_dim",
                KURA_SPEC_HEAD
                R"("statistic": "count", "rows": ["a"], "structural_zeros": [{"b": "x"}]})",
                "structural_zeros[0].b: not a dimension"},
        BadSpec{"regression_cov", KURA_SPEC_HEAD R"("statistic": "regression", "dependent": "c"})",
                "a regression needs at least one covariate"},
        BadSpec{"unknown", KURA_SPEC_HEAD R"("statistic": "count", "colums": []})",
                "spec.json.colums: unknown field"}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace kura::disclosure
