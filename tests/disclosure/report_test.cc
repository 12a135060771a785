#include "disclosure/report.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace kura::disclosure {
namespace {

using ::testing::HasSubstr;

Report SampleReport() {
  Report report;
  report.policy_name = "acro-default";
  report.policy_sha256 = std::string(64, 'a');
  FileReport file;
  file.path = "out/\"odd\"\tname.csv";
  file.sha256 = std::string(64, 'b');
  file.verified = true;
  file.reasons.push_back({"absent_cells", Verdict::kPass, "1 cell"});
  CellReport cell;
  cell.key = {{"region", "東京\n"}, {"sex", "F"}};
  cell.value = "9";
  cell.has_evidence = true;
  cell.evidence.units = 9;
  cell.evidence.rows = 12;
  cell.evidence.sum = 0.1;
  cell.evidence.top = {5, 4};
  cell.evidence.has_statistic = true;
  cell.evidence.statistic = 9;
  cell.rules.push_back({"threshold", Verdict::kFail, "9 distinct units < 10"});
  cell.verdict = Verdict::kFail;
  file.cells.push_back(cell);
  CellReport text;
  text.key = {{"region", "B"}};
  text.value = "n/a*";
  file.cells.push_back(text);
  file.Finish();
  report.files.push_back(file);
  return report;
}

TEST(ReportTest, JsonHasTheDocumentedShapeAndEscapes) {
  const nlohmann::json j = nlohmann::json::parse(FormatReportJson(SampleReport()));
  EXPECT_EQ(j["checker"]["version"], kCheckerVersion);
  EXPECT_EQ(j["policy"]["name"], "acro-default");
  EXPECT_EQ(j["verdict"], "fail");
  const auto& file = j["files"][0];
  EXPECT_EQ(file["path"], "out/\"odd\"\tname.csv");
  EXPECT_EQ(file["verdict"], "fail");
  EXPECT_EQ(file["verified"], true);
  EXPECT_EQ(file["reasons"][0]["rule"], "absent_cells");
  const auto& cell = file["cells"][0];
  EXPECT_EQ(cell["key"]["region"], "東京\n");
  EXPECT_EQ(cell["value"], 9);
  EXPECT_EQ(cell["rules"][0]["rule"], "threshold");
  EXPECT_EQ(cell["evidence"]["units"], 9);
  EXPECT_EQ(cell["evidence"]["sum"], 0.1);
  EXPECT_EQ(cell["evidence"]["top"], nlohmann::json({5, 4}));
  EXPECT_EQ(file["cells"][1]["value"], "n/a*");
  EXPECT_TRUE(file["cells"][1]["evidence"].is_null());
  EXPECT_EQ(ReportToJson(SampleReport()), j);
}

TEST(ReportTest, TextMarksFailingCellsAndExitCodes) {
  Report report = SampleReport();
  const std::string text = FormatReportText(report);
  EXPECT_THAT(text, HasSubstr("!! FAIL   region=東京\n sex=F  value=9  units=9"));
  EXPECT_THAT(text, HasSubstr("overall: FAIL (exit 2)"));
  EXPECT_EQ(ExitCodeFor(report), 2);
  report.files[0].cells.clear();
  report.files[0].reasons = {{"no_spec", Verdict::kReview, "supply the underlying table"}};
  report.files[0].Finish();
  EXPECT_EQ(ExitCodeFor(report), 1);
  report.files[0].reasons.clear();
  report.files[0].Finish();
  EXPECT_EQ(ExitCodeFor(report), 0);
}

}  // namespace
}  // namespace kura::disclosure
