#include "disclosure/recompute.h"

#include <cmath>

#include "disclosure/schema.h"
#include "disclosure/table_spec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/status_matchers.h"
#include "tests/disclosure/test_files.h"

namespace kura::disclosure {
namespace {

using ::kura::testing::StatusIs;
using testing::Claim;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TableSpec MakeSpec(Statistic statistic, std::vector<std::string> rows,
                   std::vector<std::string> cols = {}) {
  TableSpec spec;
  spec.source = "spec.json";
  spec.schema = "tiny";
  spec.table = "claims";
  spec.output = "out.csv";
  spec.rows = std::move(rows);
  spec.cols = std::move(cols);
  spec.statistic = statistic;
  if (statistic != Statistic::kCount) spec.value = "cost";
  return spec;
}

absl::StatusOr<RecomputedTable> RecomputeTiny(const testing::ScratchDir& dir,
                                              const std::vector<Claim>& claims,
                                              const TableSpec& spec, int threads = 2) {
  const std::string root = testing::WriteTinySchema(dir, claims);
  auto schema = LoadSchema(root);
  if (!schema.ok()) return schema.status();
  RecomputeOptions options;
  options.threads = threads;
  return Recompute(*schema, spec, options);
}

TEST(RecomputeTest, ManyRowsOfOnePatientCountOnce) {
  testing::ScratchDir dir;
  std::vector<Claim> claims = testing::Patients("p", 9, "A", "10");
  for (int i = 0; i < 50; ++i) claims.push_back(Claim{"p0", "H1", "A", "F", "40", "10"});
  KURA_ASSERT_OK_AND_ASSIGN(RecomputedTable t,
                            RecomputeTiny(dir, claims, MakeSpec(Statistic::kSum, {"region"})));
  ASSERT_EQ(t.cells.size(), 1u);
  const CellEvidence& c = t.cells[0];
  EXPECT_EQ(c.rows, 59);
  EXPECT_EQ(c.units, 9);
  EXPECT_EQ(c.sum, 590);
  // p0 contributes 51 claims of 10 as one unit.
  EXPECT_THAT(c.top, ElementsAre(510, 10, 10, 10, 10));
  EXPECT_EQ(c.unit_abs_total, 590);
}

TEST(RecomputeTest, AllStatisticsHandComputed) {
  testing::ScratchDir dir;
  // Values 1, 2, 2, 3, 10 from five patients, and one more claim of 2 by the first patient.
  std::vector<Claim> claims = {{"a", "H1", "A", "F", "1", "1"},  {"b", "H1", "A", "F", "1", "2"},
                               {"c", "H2", "A", "F", "1", "2"},  {"d", "H2", "A", "F", "1", "3"},
                               {"e", "H3", "A", "F", "1", "10"}, {"a", "H1", "A", "F", "1", "2"}};
  struct Case {
    Statistic statistic;
    double expected;
  };
  // Values 1, 2, 2, 2, 3, 10: sum 20, mean 10/3, median 2, mode 2, min 1, max 10.
  const double mean = 20.0 / 6;
  double ss = 0;
  for (double v : {1.0, 2.0, 2.0, 2.0, 3.0, 10.0}) ss += (v - mean) * (v - mean);
  for (const Case& c :
       {Case{Statistic::kSum, 20}, Case{Statistic::kMean, mean}, Case{Statistic::kMedian, 2},
        Case{Statistic::kMode, 2}, Case{Statistic::kMin, 1}, Case{Statistic::kMax, 10},
        Case{Statistic::kStd, std::sqrt(ss / 5)}, Case{Statistic::kCount, 5}}) {
    KURA_ASSERT_OK_AND_ASSIGN(RecomputedTable t,
                              RecomputeTiny(dir, claims, MakeSpec(c.statistic, {"region"})));
    ASSERT_EQ(t.cells.size(), 1u);
    EXPECT_TRUE(t.cells[0].has_statistic);
    EXPECT_NEAR(t.cells[0].statistic, c.expected, 1e-12) << StatisticName(c.statistic);
    EXPECT_EQ(t.cells[0].units, 5);
    EXPECT_EQ(t.cells[0].holdings, 3);
    if (c.statistic == Statistic::kMin || c.statistic == Statistic::kMax) {
      EXPECT_TRUE(t.cells[0].max_single_unit);  // Only e has 10.
      EXPECT_TRUE(t.cells[0].min_single_unit);  // Only a has 1.
    }
  }
}

TEST(RecomputeTest, SharedExtremeIsNotASingleUnit) {
  testing::ScratchDir dir;
  std::vector<Claim> claims = {{"a", "H1", "A", "F", "1", "1"},
                               {"b", "H1", "A", "F", "1", "1"},
                               {"c", "H1", "A", "F", "1", "5"},
                               {"c", "H1", "A", "F", "1", "9"}};
  KURA_ASSERT_OK_AND_ASSIGN(RecomputedTable t,
                            RecomputeTiny(dir, claims, MakeSpec(Statistic::kMin, {"region"})));
  EXPECT_FALSE(t.cells[0].min_single_unit);  // a and b share the minimum.
  EXPECT_TRUE(t.cells[0].max_single_unit);
}

TEST(RecomputeTest, MissingValuesAndNegativeContributions) {
  testing::ScratchDir dir;
  std::vector<Claim> claims = {{"a", "H1", "A", "F", "1", "5"},
                               {"a", "H1", "A", "F", "1", "-8"},
                               {"b", "H1", "A", "F", "1", ""},
                               {"c", "H1", "A", "F", "1", "NA"},
                               {"d", "H1", "A", "F", "1", "4"}};
  KURA_ASSERT_OK_AND_ASSIGN(RecomputedTable t,
                            RecomputeTiny(dir, claims, MakeSpec(Statistic::kSum, {"region"})));
  const CellEvidence& c = t.cells[0];
  EXPECT_EQ(c.rows, 5);
  EXPECT_EQ(c.missing, 2);
  EXPECT_EQ(c.units, 2);  // b and c have no value.
  EXPECT_EQ(c.negative_units, 1);
  EXPECT_EQ(c.sum, 1);
  EXPECT_THAT(c.top, ElementsAre(4, 3));  // |5 - 8| and 4.
}

TEST(RecomputeTest, FiltersAndZeroCellsOfAFrequencyTable) {
  testing::ScratchDir dir;
  std::vector<Claim> claims = testing::Concat({testing::Patients("a", 3, "A", "1", 1, "F"),
                                               testing::Patients("b", 2, "B", "1", 1, "M"),
                                               testing::Patients("c", 4, "B", "1", 1, "F")});
  claims.push_back(Claim{"z", "H1", "A", "M", "1", "1", "2019"});
  TableSpec spec = MakeSpec(Statistic::kCount, {"region"}, {"sex"});
  Filter year;
  year.column = "year";
  year.op = FilterOp::kEq;
  year.values = {"2023"};
  year.numbers = {2023};
  year.numeric = true;
  spec.filters.push_back(year);
  KURA_ASSERT_OK_AND_ASSIGN(RecomputedTable t, RecomputeTiny(dir, claims, spec));
  ASSERT_EQ(t.cells.size(), 4u);
  EXPECT_THAT(t.cells[0].key, ElementsAre("A", "F"));
  EXPECT_EQ(t.cells[0].statistic, 3);
  EXPECT_THAT(t.cells[1].key, ElementsAre("A", "M"));  // Only z, filtered out: a zero cell.
  EXPECT_EQ(t.cells[1].units, 0);
  EXPECT_EQ(t.cells[1].statistic, 0);
  EXPECT_EQ(t.cells[2].statistic, 4);
  EXPECT_EQ(t.cells[3].statistic, 2);
}

TEST(RecomputeTest, SameAnswerWithOneOrManyThreads) {
  testing::ScratchDir dir;
  std::vector<Claim> claims;
  for (int i = 0; i < 60000; ++i) {
    claims.push_back(Claim{absl::StrCat("p", i % 997), absl::StrCat("H", i % 13),
                           absl::StrCat("R", i % 7), i % 3 ? "F" : "M", "1",
                           absl::StrCat(i % 101)});
  }
  const TableSpec spec = MakeSpec(Statistic::kMean, {"region"}, {"sex"});
  KURA_ASSERT_OK_AND_ASSIGN(RecomputedTable one, RecomputeTiny(dir, claims, spec, 1));
  KURA_ASSERT_OK_AND_ASSIGN(RecomputedTable four, RecomputeTiny(dir, claims, spec, 4));
  ASSERT_EQ(one.cells.size(), four.cells.size());
  for (size_t i = 0; i < one.cells.size(); ++i) {
    EXPECT_EQ(one.cells[i].key, four.cells[i].key);
    EXPECT_EQ(one.cells[i].units, four.cells[i].units);
    EXPECT_EQ(one.cells[i].holdings, four.cells[i].holdings);
    EXPECT_EQ(one.cells[i].top, four.cells[i].top);
    EXPECT_NEAR(one.cells[i].statistic, four.cells[i].statistic, 1e-9);
  }
}

TEST(RecomputeTest, NonNumericValueNamesFileLineAndField) {
  testing::ScratchDir dir;
  std::vector<Claim> claims = testing::Patients("p", 3, "A");
  claims[1].cost = "ten";
  EXPECT_THAT(RecomputeTiny(dir, claims, MakeSpec(Statistic::kSum, {"region"})),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("claims.csv:3: field cost: \"ten\" is not a number")));
}

}  // namespace
}  // namespace kura::disclosure
