#include "disclosure/checker.h"

#include "disclosure/csv_reader.h"
#include "disclosure/json_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/status_matchers.h"
#include "tests/disclosure/test_files.h"

namespace kura::disclosure {
namespace {

using ::kura::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// Region A: 10 patients (one with three claims), region B: 9 patients.
std::vector<testing::Claim> TwoRegions() {
  auto claims = testing::Concat(
      {testing::Patients("pa", 10, "A", "100", 3), testing::Patients("pb", 9, "B", "100", 3)});
  claims.push_back({"pa0", "H1", "A", "F", "30", "100"});
  claims.push_back({"pa0", "H1", "A", "F", "30", "100"});
  return claims;
}

class CheckerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::WriteTinySchema(dir_, TwoRegions());
    auto schema = LoadSchema(root_);
    ASSERT_TRUE(schema.ok()) << schema.status();
    schema_ = *schema;
  }

  TableSpec Spec(const std::string& json) {
    auto spec = ParseTableSpec(json, "spec.json");
    EXPECT_TRUE(spec.ok()) << spec.status();
    return *spec;
  }

  Report Check(const std::vector<std::string>& files, const std::vector<TableSpec>& specs = {}) {
    auto report = CheckFiles(schema_, policy_, specs, files);
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : Report{};
  }

  static std::vector<std::string> Rules(const CellReport& cell) {
    std::vector<std::string> out;
    for (const auto& f : cell.rules) out.push_back(f.rule);
    return out;
  }
  static std::vector<std::string> Reasons(const FileReport& file) {
    std::vector<std::string> out;
    for (const auto& f : file.reasons) out.push_back(f.rule);
    return out;
  }

  testing::ScratchDir dir_;
  std::string root_;
  Schema schema_;
  Policy policy_;
};

constexpr char kCountSpec[] =
    R"({"schema": "tiny", "table": "claims", "output": "t.csv", "rows": ["region"], "statistic": "count"})";

TEST_F(CheckerTest, CountTableNineFailsTenPasses) {
  const std::string out = dir_.Write("t.csv", "region,value\nA,10\nB,9\n");
  Report report = Check({out}, {Spec(kCountSpec)});
  ASSERT_EQ(report.files.size(), 1u);
  const FileReport& f = report.files[0];
  EXPECT_TRUE(f.verified);
  EXPECT_EQ(f.verdict, Verdict::kFail);
  ASSERT_EQ(f.cells.size(), 2u);
  EXPECT_EQ(f.cells[0].verdict, Verdict::kPass);
  EXPECT_EQ(f.cells[0].evidence.units, 10);
  EXPECT_EQ(f.cells[0].evidence.rows, 12);
  EXPECT_THAT(Rules(f.cells[1]), ElementsAre("threshold"));
  EXPECT_EQ(report.policy_name, "acro-default");
  EXPECT_EQ(report.policy_sha256, PolicySha256(policy_));
  EXPECT_EQ(ExitCodeFor(report), 2);
}

TEST_F(CheckerTest, TamperedValueIsAMismatch) {
  // Region A really has 10 units; the researcher claims 14 (and 12 rows would be 12).
  const std::string out = dir_.Write("t.csv", "region,value\nA,14\n");
  Report report = Check({out}, {Spec(kCountSpec)});
  EXPECT_THAT(Rules(report.files[0].cells[0]), ElementsAre("mismatch"));
  EXPECT_EQ(report.files[0].verdict, Verdict::kFail);
  EXPECT_THAT(Reasons(report.files[0]), ElementsAre("absent_cells"));  // B left out.
}

TEST_F(CheckerTest, WideFormAndMagnitudeTable) {
  const std::string out = dir_.Write("w.csv", "region,F\nA,1200\nB,900\n");
  Report report = Check({out}, {Spec(R"({"schema": "tiny", "table": "claims", "output": "w.csv",
      "rows": ["region"], "cols": ["sex"], "statistic": "sum", "value": "cost"})")});
  const FileReport& f = report.files[0];
  ASSERT_EQ(f.cells.size(), 2u);
  EXPECT_EQ(f.cells[0].key,
            (std::vector<std::pair<std::string, std::string>>{{"region", "A"}, {"sex", "F"}}));
  EXPECT_THAT(Rules(f.cells[0]), IsEmpty());
  EXPECT_EQ(f.cells[0].evidence.top[0], 300);  // pa0's three claims.
  EXPECT_THAT(Rules(f.cells[1]), ElementsAre("threshold"));
}

TEST_F(CheckerTest, HoldingThresholdWithNdbPolicy) {
  KURA_ASSERT_OK_AND_ASSIGN(policy_, NamedPolicy("ndb-japan"));
  // Region A's patients are spread over three hospitals: passes; filter to two hospitals: fails.
  const std::string out = dir_.Write("t.csv", "region,value\nA,10\n");
  EXPECT_THAT(Rules(Check({out}, {Spec(kCountSpec)}).files[0].cells[0]), IsEmpty());
  const std::string out2 = dir_.Write("h.csv", "region,value\nA,7\n");
  Report report = Check(
      {out2}, {Spec(R"({"schema": "tiny", "table": "claims", "output": "h.csv", "rows": ["region"],
      "statistic": "count", "filter": [{"column": "hospital_id", "op": "in", "value": ["H1", "H2"]}]})")});
  EXPECT_THAT(Rules(report.files[0].cells[0]), ElementsAre("threshold", "holding_threshold"));
}

TEST_F(CheckerTest, FileLevelChecks) {
  const std::string xlsx = dir_.Write("t.xlsx", "PK");
  const std::string png = dir_.Write("fig.png", "not really a png");
  const std::string real_png = dir_.Write("ok.png", std::string("\x89PNG\r\n\x1a\n", 8) + "data");
  const std::string ids = dir_.Write("ids.csv", "patient_id,n\nx,12\n");
  const std::string value = dir_.Write("note.txt", "the outlier is pa3 in region A\n");
  const std::string dates = dir_.Write("dates.csv", "day,n\n2023-04-01,12\n");
  Report report = Check({xlsx, png, real_png, ids, value, dates});
  ASSERT_EQ(report.files.size(), 6u);
  EXPECT_THAT(Reasons(report.files[0]), ElementsAre("file_type"));
  EXPECT_EQ(report.files[0].verdict, Verdict::kFail);
  EXPECT_THAT(Reasons(report.files[1]), ElementsAre("file_type", "no_spec"));
  EXPECT_THAT(Reasons(report.files[2]), ElementsAre("no_spec"));
  EXPECT_EQ(report.files[2].verdict, Verdict::kReview);
  EXPECT_THAT(Reasons(report.files[3]), ::testing::Contains("identifier_column"));
  EXPECT_EQ(report.files[3].verdict, Verdict::kFail);
  EXPECT_THAT(Reasons(report.files[4]), ElementsAre("no_spec", "identifier_value"));
  EXPECT_EQ(report.files[4].verdict, Verdict::kFail);
  EXPECT_THAT(Reasons(report.files[5]), ::testing::Contains("day_date"));
}

TEST_F(CheckerTest, SizeAndRowCaps) {
  policy_.max_file_bytes = 10;
  policy_.max_rows = 1;
  const std::string out = dir_.Write("t.csv", "region,value\nA,10\nB,9\n");
  Report report = Check({out}, {Spec(kCountSpec)});
  EXPECT_THAT(Reasons(report.files[0]), ElementsAre("size", "rows"));
}

TEST_F(CheckerTest, FrequencyCsvWithoutSpecIsCheckedOnItsCountsAndUnverified) {
  const std::string out = dir_.Write("freq.csv", "region,n\nA,12\nB,3\nC,0\n");
  Report report = Check({out});
  const FileReport& f = report.files[0];
  EXPECT_FALSE(f.verified);
  ASSERT_EQ(f.cells.size(), 3u);
  EXPECT_THAT(Rules(f.cells[0]), IsEmpty());
  EXPECT_THAT(Rules(f.cells[1]), ElementsAre("threshold"));
  EXPECT_THAT(Rules(f.cells[2]), ElementsAre("zeros"));
  EXPECT_THAT(Reasons(f), ElementsAre("unverified"));
  EXPECT_EQ(f.verdict, Verdict::kFail);
  const std::string safe = dir_.Write("safe.csv", "region,n\nA,12\n");
  EXPECT_EQ(Check({safe}).files[0].verdict, Verdict::kReview);
}

TEST_F(CheckerTest, StructuralZerosAndHundredPercentCells) {
  // Every patient is F: the M column is all zeros, and each F cell holds 100% of its row.
  const std::string out = dir_.Write("z.csv", "region,sex,value\nA,F,10\nA,M,0\n");
  const std::string spec =
      R"({"schema": "tiny", "table": "claims", "output": "z.csv", "rows": ["region"],
      "cols": ["sex"], "statistic": "count"})";
  // sex has only the value F in the data, so the M cell is a submitted cell with no records.
  Report report = Check({out}, {Spec(spec)});
  EXPECT_THAT(Rules(report.files[0].cells[0]), ElementsAre("zeros"));  // 100% of row A.
  EXPECT_THAT(Rules(report.files[0].cells[1]), ElementsAre("zeros"));  // A zero cell.
  const std::string structural =
      R"({"schema": "tiny", "table": "claims", "output": "z.csv", "rows": ["region"],
      "cols": ["sex"], "statistic": "count", "structural_zeros": [{"sex": "M"}]})";
  report = Check({out}, {Spec(structural)});
  EXPECT_THAT(Rules(report.files[0].cells[0]), IsEmpty());
  EXPECT_THAT(Rules(report.files[0].cells[1]), IsEmpty());
}

TEST_F(CheckerTest, SuppressionWritesANewTableThatPasses) {
  const std::string out = dir_.Write("t.csv", "region,value\nA,10\nB,9\n");
  KURA_ASSERT_OK_AND_ASSIGN(Report report,
                            CheckAndMitigate(schema_, policy_, {Spec(kCountSpec)}, {out},
                                             MitigationMethod::kSuppress, dir_.Path("safe")));
  ASSERT_EQ(report.files.size(), 1u);
  const FileReport& f = report.files[0];
  EXPECT_EQ(f.path, dir_.Path("safe/t.csv"));
  EXPECT_EQ(f.verdict, Verdict::kPass);
  ASSERT_TRUE(f.mitigation.has_value());
  EXPECT_EQ(f.mitigation->method, "suppress");
  EXPECT_THAT(f.mitigation->actions[0], HasSubstr("region=B: 9 -> * (threshold)"));
  KURA_ASSERT_OK_AND_ASSIGN(std::string written, ReadFile(dir_.Path("safe/t.csv")));
  EXPECT_EQ(written, "region,value\nA,10\nB,*\n");
}

TEST_F(CheckerTest, RoundingRewritesCounts) {
  const std::string out = dir_.Write("t.csv", "region,value\nA,10\nB,9\n");
  policy_.threshold = 5;
  KURA_ASSERT_OK_AND_ASSIGN(Report report,
                            CheckAndMitigate(schema_, policy_, {Spec(kCountSpec)}, {out},
                                             MitigationMethod::kRound, dir_.Path("rounded")));
  KURA_ASSERT_OK_AND_ASSIGN(std::string written, ReadFile(dir_.Path("rounded/t.csv")));
  EXPECT_EQ(written, "region,value\nA,10\nB,10\n");
  EXPECT_EQ(report.files[0].verdict, Verdict::kPass);  // Rounded counts are not mismatches.
  EXPECT_THAT(report.files[0].mitigation->actions[0], HasSubstr("region=B: 9 -> 10"));
}

TEST_F(CheckerTest, MidpointSixRoundingWithAPolicyFile) {
  const std::string policy_path = dir_.Write(
      "mid.json", R"({"name": "mid", "threshold": 5, "rounding": {"method": "midpoint6"}})");
  KURA_ASSERT_OK_AND_ASSIGN(policy_, LoadPolicy(policy_path));
  const std::string out = dir_.Write("t.csv", "region,value\nA,10\nB,9\n");
  KURA_ASSERT_OK_AND_ASSIGN(Report report,
                            CheckAndMitigate(schema_, policy_, {Spec(kCountSpec)}, {out},
                                             MitigationMethod::kRound, dir_.Path("mid")));
  KURA_ASSERT_OK_AND_ASSIGN(std::string written, ReadFile(dir_.Path("mid/t.csv")));
  EXPECT_EQ(written, "region,value\nA,9\nB,9\n");  // 6 * ceil(x / 6) - 3 for 10 and 9.
  EXPECT_EQ(report.files[0].verdict, Verdict::kPass);
  EXPECT_EQ(report.policy_name, "mid");
}

TEST_F(CheckerTest, OpenSafelyRedactsSevenAndKeepsEight) {
  KURA_ASSERT_OK_AND_ASSIGN(policy_, NamedPolicy("opensafely"));
  const std::string out = dir_.Write("t.csv", "region,value\nA,10\n");
  Report report = Check(
      {out}, {Spec(R"({"schema": "tiny", "table": "claims", "output": "t.csv", "rows": ["region"],
      "statistic": "count", "filter": [{"column": "patient_id", "op": "in", "value": ["pa0", "pa1", "pa2", "pa3", "pa4", "pa5", "pa6"]}]})")});
  EXPECT_THAT(Rules(report.files[0].cells[0]), ElementsAre("mismatch", "threshold"));  // 7 units.
  const std::string eight = dir_.Write("e.csv", "region,value\nA,8\n");
  report = Check(
      {eight}, {Spec(R"({"schema": "tiny", "table": "claims", "output": "e.csv", "rows": ["region"],
      "statistic": "count", "filter": [{"column": "patient_id", "op": "in", "value": ["pa0", "pa1", "pa2", "pa3", "pa4", "pa5", "pa6", "pa7"]}]})")});
  EXPECT_THAT(Rules(report.files[0].cells[0]), IsEmpty());
}

TEST_F(CheckerTest, IdentifierAsTheLabelOfAZeroCellFails) {
  KURA_ASSERT_OK_AND_ASSIGN(policy_, NamedPolicy("ndb-japan"));  // Zero cells are allowed.
  const std::string out = dir_.Write("t.csv", "region,value\nA,10\npb3,0\n");
  Report report = Check({out}, {Spec(kCountSpec)});
  EXPECT_THAT(Reasons(report.files[0]), ::testing::Contains("identifier_value"));
  EXPECT_EQ(report.files[0].verdict, Verdict::kFail);
}

TEST_F(CheckerTest, RegressionIsJudgedOnResidualDegreesOfFreedom) {
  const std::string out = dir_.Write("coef.csv", "term,estimate\nintercept,1.5\nage,0.2\n");
  const std::string spec =
      R"({"schema": "tiny", "table": "claims", "output": "coef.csv", "rows": ["region"],
      "statistic": "regression", "dependent": "cost", "covariates": ["age"]})";
  Report report = Check({out}, {Spec(spec)});
  const FileReport& f = report.files[0];
  ASSERT_EQ(f.cells.size(), 2u);
  // A: 10 units - 2 parameters = 8 < 10; B: 9 units, also below the threshold.
  EXPECT_THAT(Rules(f.cells[0]), ElementsAre("dof"));
  EXPECT_THAT(Rules(f.cells[1]), ElementsAre("threshold", "dof"));
  EXPECT_FALSE(f.cells[0].value.has_value());
  EXPECT_EQ(f.verdict, Verdict::kFail);
}

TEST_F(CheckerTest, SuppressionOfAnUnverifiedFrequencyTable) {
  const std::string out = dir_.Write("freq.csv", "region,n\nA,12\nB,3\n");
  KURA_ASSERT_OK_AND_ASSIGN(
      Report report, CheckAndMitigate(schema_, policy_, {}, {out}, MitigationMethod::kSuppress,
                                      dir_.Path("safe")));
  KURA_ASSERT_OK_AND_ASSIGN(std::string written, ReadFile(dir_.Path("safe/freq.csv")));
  EXPECT_EQ(written, "region,n\nA,12\nB,*\n");
  EXPECT_EQ(report.files[0].verdict, Verdict::kReview);  // Still unverified.
  EXPECT_FALSE(report.files[0].verified);
}

TEST_F(CheckerTest, HugeNumbersInAnUnspecifiedTableAreNotCounts) {
  const std::string out = dir_.Write("big.csv", "region,n\nA,1e300\nB,-9e300\n");
  KURA_ASSERT_OK_AND_ASSIGN(
      Report report,
      CheckAndMitigate(schema_, policy_, {}, {out}, MitigationMethod::kRound, dir_.Path("big")));
  EXPECT_EQ(report.files[0].verdict, Verdict::kReview);
  EXPECT_TRUE(report.files[0].cells.empty());
}

TEST_F(CheckerTest, TsvSubmittedTable) {
  const std::string out = dir_.Write("t.tsv", "region\tvalue\nA\t10\nB\t9\n");
  Report report = Check(
      {out},
      {Spec(
          R"({"schema": "tiny", "table": "claims", "output": "t.tsv", "rows": ["region"], "statistic": "count"})")});
  ASSERT_EQ(report.files[0].cells.size(), 2u);
  EXPECT_THAT(Rules(report.files[0].cells[0]), IsEmpty());
  EXPECT_THAT(Rules(report.files[0].cells[1]), ElementsAre("threshold"));
}

struct BadInput {
  std::string name;
  std::string spec;
  std::string table;
  std::string message;
};

class CheckerBadInputTest : public CheckerTest, public ::testing::WithParamInterface<BadInput> {};

TEST_P(CheckerBadInputTest, IsAnErrorNamingTheProblem) {
  const std::string out = dir_.Write("t.csv", GetParam().table);
  auto spec = ParseTableSpec(GetParam().spec, "spec.json");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_THAT(CheckFiles(schema_, policy_, {*spec}, {out}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(GetParam().message)));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CheckerBadInputTest,
    ::testing::Values(
        BadInput{
            "wrong_schema",
            R"({"schema": "other", "table": "claims", "output": "t.csv", "statistic": "count"})",
            "region,value\n", "spec.json.schema: \"other\" but the schema given is \"tiny\""},
        BadInput{
            "no_table",
            R"({"schema": "tiny", "table": "visits", "output": "t.csv", "statistic": "count"})",
            "value\n", "spec.json.table: schema \"tiny\" has no table \"visits\""},
        BadInput{
            "no_column",
            R"({"schema": "tiny", "table": "claims", "output": "t.csv", "rows": ["ward"], "statistic": "count"})",
            "ward,value\n", "spec.json.rows: table \"claims\" has no column \"ward\""},
        BadInput{
            "identifier_dim",
            R"({"schema": "tiny", "table": "claims", "output": "t.csv", "rows": ["patient_id"], "statistic": "count"})",
            "patient_id,value\n", "\"patient_id\" is an identifier (unit_id)"},
        BadInput{"header", kCountSpec, "area,value\nA,10\n",
                 "t.csv:1: header \"area,value\" does not match the spec"},
        BadInput{"twice", kCountSpec, "region,value\nA,10\nA,10\n",
                 "t.csv:3: cell A given twice (first on line 2)"},
        BadInput{"malformed", kCountSpec, "region,value\nA,\"10\n",
                 "t.csv:2: field 2 (value): unterminated"},
        BadInput{
            "unused_spec",
            R"({"schema": "tiny", "table": "claims", "output": "other.csv", "statistic": "count"})",
            "region,value\n", "\"other.csv\" is not among the files to check"}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace kura::disclosure
