// What a reviewer reads in `kura review show`: flagged rows marked, tables aligned, hostile
// bytes neutralised, version history, consolidation, files that are only saved.

#include "cli/review_render.h"

#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "cli/table_render.h"
#include "cli/terminal_text.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kura::cli {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

// The one line of `text` containing `needle`; fails the test unless exactly one does.
std::string LineWith(const std::string& text, const std::string& needle) {
  std::vector<std::string> found;
  for (const std::string& line : Lines(text)) {
    if (line.find(needle) != std::string::npos) found.push_back(line);
  }
  EXPECT_EQ(found.size(), 1u) << "lines with '" << needle << "' in:\n" << text;
  return found.empty() ? "" : found[0];
}

nlohmann::json Cell(nlohmann::json key, const std::string& verdict, nlohmann::json value,
                    int units) {
  return {{"key", std::move(key)},
          {"value", std::move(value)},
          {"verdict", verdict},
          {"rules", {{{"rule", "threshold"}, {"verdict", verdict}, {"detail", "few units"}}}},
          {"evidence", {{"units", units}}}};
}

TEST(NeutralizeTest, ControlsBecomeVisibleEscapes) {
  struct Case {
    std::string in;
    TextKind kind;
    std::string out;
  };
  const std::vector<Case> cases = {
      {"plain text", TextKind::kLine, "plain text"},
      {"\x1b[31mred", TextKind::kLine, "\\x1b[31mred"},
      {"a\tb", TextKind::kLine, "a\tb"},
      {"a\tb", TextKind::kCell, "a\\x09b"},
      {"l1\nl2", TextKind::kBlock, "l1\nl2"},
      {"l1\nl2", TextKind::kLine, "l1\\x0al2"},
      {"over\rwrite", TextKind::kBlock, "over\\x0dwrite"},
      {std::string("nul\0x", 5), TextKind::kLine, "nul\\x00x"},
      {"del\x7f", TextKind::kLine, "del\\x7f"},
      {"\xc2\x9b"
       "2J",
       TextKind::kLine, "\\u009b2J"},  // C1 CSI
      {"abc\xe2\x80\xae"
       "fdp.exe",
       TextKind::kLine, "abc\\u202efdp.exe"},  // RLO
      {"bad\xff", TextKind::kLine, "bad\\xff"},
      {"cut\xe6\x97", TextKind::kLine, "cut\\xe6\\x97"},
      {"日本 naïve", TextKind::kLine, "日本 naïve"},
  };
  for (const Case& c : cases) EXPECT_EQ(Neutralize(c.in, c.kind), c.out) << c.out;
}

TEST(DisplayWidthTest, WideCharactersTakeTwoColumns) {
  EXPECT_EQ(DisplayWidth("abc"), 3u);
  EXPECT_EQ(DisplayWidth("東京都"), 6u);
  EXPECT_EQ(FitWidth("abcdefgh", 5), "abcd…");
  EXPECT_EQ(FitWidth("abcde", 5), "abcde");
  EXPECT_EQ(FitWidth("東京都庁", 5), "東京…");
}

TEST(ParseDelimitedTest, QuotedFieldsAndLineEnds) {
  Table table = ParseDelimited(
      "\xef\xbb\xbf"
      "a,b\r\n\"x, \"\"y\"\"\",\"two\nlines\"\n3,4",
      ',');
  ASSERT_EQ(table.header, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(table.rows.size(), 2u);
  EXPECT_EQ(table.rows[0], (std::vector<std::string>{"x, \"y\"", "two\nlines"}));
  EXPECT_EQ(table.rows[1], (std::vector<std::string>{"3", "4"}));
  EXPECT_EQ(ParseDelimited("a\tb\n1\t2\n", '\t').rows[0], (std::vector<std::string>{"1", "2"}));
}

const char kLongForm[] =
    "prefecture,sex,value\n"
    "01,F,41\n"
    "01,M,45\n"
    "02,F,7\n"
    "02,M,12\n";

nlohmann::json LongFormReport() {
  return {{"path", "t1.csv"},
          {"verdict", "fail"},
          {"verified", true},
          {"spec", "t1.spec.json"},
          {"statistic", "count"},
          {"reasons", {{{"rule", "absent_cells"}, {"verdict", "pass"}, {"detail", "none absent"}}}},
          {"cells",
           {Cell({{"prefecture", "02"}, {"sex", "F"}}, "fail", 7, 7),
            Cell({{"prefecture", "01"}, {"sex", "M"}}, "review", 45, 12),
            Cell({{"prefecture", "02"}, {"sex", "M"}}, "pass", 12, 12)}}};
}

TEST(MarkFlaggedRowsTest, LongFormMarksTheFlaggedRowsOnly) {
  Table table = ParseDelimited(kLongForm, ',');
  TableMarks marks = MarkFlaggedRows(table, LongFormReport()["cells"]);
  ASSERT_EQ(marks.rows.size(), 2u);
  EXPECT_TRUE(marks.rows.at(2).fail);   // 02,F
  EXPECT_FALSE(marks.rows.at(1).fail);  // 01,M: review
  EXPECT_EQ(marks.unmatched, 0u);

  const std::string out = RenderTable(table, marks, TableLimits(), true, "/save/t1.csv");
  EXPECT_THAT(LineWith(out, "41"), StartsWith("   01"));
  EXPECT_THAT(LineWith(out, "45"), StartsWith("?  01"));
  EXPECT_THAT(LineWith(out, " 7"), StartsWith("!! 02"));
  EXPECT_THAT(LineWith(out, "12"), StartsWith("   02"));
  EXPECT_THAT(LineWith(out, "prefecture"), StartsWith("   prefecture"));
}

TEST(MarkFlaggedRowsTest, WideFormMarksTheRowAndNamesTheColumns) {
  const char wide[] =
      "prefecture,age_band,F,M\n"
      "13,40-64,8123.5,7990.1\n"
      "13,65+,100,200\n"
      "14,65+,300,400\n";
  Table table = ParseDelimited(wide, ',');
  nlohmann::json cells = {
      Cell({{"prefecture", 13}, {"age_band", "65+"}, {"sex", "M"}}, "fail", 200, 2),
      Cell({{"prefecture", "13"}, {"age_band", "65+"}, {"sex", "F"}}, "review", 100, 20),
      Cell({{"prefecture", "13"}, {"age_band", "40-64"}, {"sex", "F"}}, "review", 8123.5, 30),
      Cell({{"prefecture", "99"}, {"age_band", "65+"}, {"sex", "F"}}, "fail", 1, 1),
  };
  TableMarks marks = MarkFlaggedRows(table, cells);
  ASSERT_EQ(marks.rows.size(), 2u);
  EXPECT_TRUE(marks.rows.at(1).fail);
  EXPECT_EQ(marks.rows.at(1).columns,
            (std::vector<std::pair<std::string, std::string>>{{"M", "fail"}, {"F", "review"}}));
  EXPECT_FALSE(marks.rows.at(0).fail);
  EXPECT_EQ(marks.unmatched, 1u);  // prefecture 99 is in no row

  const std::string out = RenderTable(table, marks, TableLimits(), true, "/save/w.csv");
  EXPECT_THAT(LineWith(out, "100"), AllOf(StartsWith("!!  "), HasSubstr("<- M fail, F review")));
  EXPECT_THAT(LineWith(out, "8123.5"), AllOf(StartsWith("?   "), HasSubstr("<- F review")));
  EXPECT_THAT(LineWith(out, "300"), AllOf(StartsWith("    "), Not(HasSubstr("<-"))));
  EXPECT_THAT(out, HasSubstr("1 flagged cell(s) match no row"));
}

TEST(RenderTableTest, CapsWidthsAndAlignsColumns) {
  Table table = ParseDelimited("name,value\naveryveryverylongname_abcdefghijkl,7\nb,12345\n", ',');
  TableLimits limits;
  limits.max_column_width = 10;
  EXPECT_EQ(RenderTable(table, TableMarks(), limits, true, "/s/t.csv"),
            "   name        value\n"
            "   averyvery…      7\n"
            "   b           12345\n");
}

TEST(RenderTableTest, RowsBeyondTheLimitAreCountedWithTheirFlags) {
  Table table = ParseDelimited(kLongForm, ',');
  TableMarks marks = MarkFlaggedRows(table, LongFormReport()["cells"]);
  TableLimits limits;
  limits.max_rows = 2;
  const std::string out = RenderTable(table, marks, limits, true, "/save/t1.csv");
  EXPECT_THAT(out, Not(HasSubstr("02")));
  EXPECT_THAT(out, HasSubstr("… 2 more rows (1 of them flagged) (saved to /save/t1.csv)"));
}

TEST(RenderFileContentsTest, ControlCharactersInACsvNeverReachTheTerminal) {
  const std::string csv = "prefecture,sex,value\n\x1b]0;owned\x07,F\x1b[2J,41\n";
  const std::string out =
      RenderFileContents("t\x1b[1m.csv", csv, true, nullptr, "/save/t.csv", FileLimits());
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
  EXPECT_EQ(out.find('\x07'), std::string::npos) << out;
  EXPECT_THAT(out, AllOf(HasSubstr("\\x1b]0;owned\\x07"), HasSubstr("F\\x1b[2J")));
}

TEST(RenderFileContentsTest, OnlyTablesAndTextAreShownInline) {
  struct Case {
    std::string path;
    FileView view;
  };
  for (const Case& c : std::vector<Case>{{"a.csv", FileView::kTable},
                                         {"dir/a.TSV", FileView::kTable},
                                         {"notes.txt", FileView::kText},
                                         {"README.md", FileView::kText},
                                         {"model.json", FileView::kText},
                                         {"figure.png", FileView::kSavedOnly},
                                         {"paper.pdf", FileView::kSavedOnly},
                                         {"noextension", FileView::kSavedOnly}}) {
    EXPECT_EQ(ViewOf(c.path), c.view) << c.path;
  }
  const std::string png = "\x89PNG\r\n\x1a\nIHDR secret-pixels";
  const std::string shown =
      RenderFileContents("figure.png", png, true, nullptr, "/save/figure.png", FileLimits());
  EXPECT_THAT(shown, Not(HasSubstr("secret-pixels")));
  EXPECT_THAT(shown, HasSubstr("saved for viewing inside the environment: /save/figure.png"));

  const std::string text = RenderFileContents("notes.txt", "first line\nsecond\n", true, nullptr,
                                              "/save/notes.txt", FileLimits());
  EXPECT_THAT(text, AllOf(HasSubstr("    first line\n"), HasSubstr("    second\n")));
}

TEST(RenderFileContentsTest, LongTextStopsAtTheLineLimit) {
  std::string text;
  for (int i = 0; i < 250; ++i) text += "line " + std::to_string(i) + "\n";
  const std::string out =
      RenderFileContents("log.txt", text, true, nullptr, "/save/log.txt", FileLimits());
  EXPECT_THAT(out, HasSubstr("line 199\n"));
  EXPECT_THAT(out, Not(HasSubstr("line 200\n")));
  EXPECT_THAT(out, HasSubstr("… 50 more lines (saved to /save/log.txt)"));
}

TEST(RenderFileContentsTest, TheReportsFlagsMarkTheTable) {
  nlohmann::json report = {{"files", {LongFormReport()}}};
  const nlohmann::json* file = FindFileReport(report, "t1.csv");
  ASSERT_NE(file, nullptr);
  const std::string out =
      RenderFileContents("t1.csv", kLongForm, true, file, "/save/t1.csv", FileLimits());
  EXPECT_THAT(LineWith(out, " 7"), StartsWith("!! "));
  EXPECT_THAT(LineWith(out, "45"), StartsWith("?  "));
}

TEST(RenderReportTest, FlaggedCellsWithKeyValueUnitsAndRules) {
  nlohmann::json report = {{"checker", {{"name", "kura-sdc"}, {"version", "0.1.0"}}},
                           {"policy", {{"name", "acro-default"}, {"sha256", "2f42d54e00112233"}}},
                           {"verdict", "fail"},
                           {"files", {LongFormReport()}}};
  const std::string out = RenderReport(report, false);
  EXPECT_THAT(out, HasSubstr("checker's report: fail  (kura-sdc 0.1.0, policy acro-default"));
  EXPECT_THAT(out, HasSubstr("t1.csv: fail  verified  spec t1.spec.json  statistic count"));
  EXPECT_THAT(out, HasSubstr("absent_cells pass: none absent"));
  EXPECT_THAT(LineWith(out, "!! FAIL"), AllOf(HasSubstr("prefecture=02 sex=F"),
                                              HasSubstr("value 7"), HasSubstr("distinct units 7")));
  EXPECT_THAT(LineWith(out, "?  REVIEW"), HasSubstr("prefecture=01 sex=M"));
  EXPECT_THAT(out, Not(HasSubstr("prefecture=02 sex=M")));
  EXPECT_THAT(out, HasSubstr("2 of 3 cells flagged"));
  EXPECT_THAT(RenderReport(report, true), HasSubstr("prefecture=02 sex=M"));
  EXPECT_THAT(RenderReport(nlohmann::json::parse("x", nullptr, false), false),
              HasSubstr("not readable"));
}

kura::v1::ExportFile File(const std::string& path, const std::string& sha256) {
  kura::v1::ExportFile file;
  file.set_path(path);
  file.set_sha256(sha256);
  file.set_verdict("pass");
  return file;
}

TEST(RenderVersionHistoryTest, NamesNewChangedAndRemovedFiles) {
  kura::v1::ExportRequest r;
  r.set_version(2);
  auto* v1 = r.add_versions();
  v1->set_version(1);
  v1->set_state("changes_requested");
  v1->set_verdict("fail");
  *v1->add_files() = File("a.csv", "aaaa");
  *v1->add_files() = File("b.csv", "bbbb");
  *v1->add_files() = File("same.txt", "ssss");
  auto* v2 = r.add_versions();
  v2->set_version(2);
  v2->set_state("in_review");
  v2->set_verdict("pass");
  v2->set_created_unix(1763712000);  // 2025-11-21 08:00 UTC
  *v2->add_files() = File("a.csv", "a2a2");
  *v2->add_files() = File("c.csv", "cccc");
  *v2->add_files() = File("same.txt", "ssss");
  const std::string out = RenderVersionHistory(r);
  EXPECT_THAT(LineWith(out, "v1"), HasSubstr("changes_requested"));
  EXPECT_THAT(LineWith(out, "v2"),
              AllOf(HasSubstr("in_review"), HasSubstr("2025-11-21 08:00 UTC")));
  EXPECT_THAT(LineWith(out, "files: a.csv, b.csv, same.txt"), Not(HasSubstr("removed")));
  EXPECT_THAT(LineWith(out, "changed: a.csv"),
              AllOf(HasSubstr("new: c.csv"), HasSubstr("removed: b.csv"), HasSubstr("1 unchanged"),
                    Not(HasSubstr("same.txt"))));
}

kura::v1::ExportRequest ConsolidatingRequest() {
  kura::v1::ExportRequest r;
  r.set_id(7);
  r.set_version(2);
  r.set_latest_version(3);
  r.set_state("consolidation");
  r.set_project("p1");
  r.set_author("alice");
  r.set_verdict("review");
  r.set_required_reviewers(2);
  r.set_justification("for the paper\nsecond line \x1b[8m");
  r.mutable_image()->set_name("host:Debian GNU/Linux 12 (bookworm)");
  r.mutable_image()->set_digest("sha256:0123abcd");
  auto* first = r.add_votes();
  first->set_reviewer("bob");
  first->set_file("t1.csv");
  first->set_decision("reject");
  first->set_round(1);
  first->set_time_unix(1763712000);
  auto* revised = r.add_votes();
  revised->set_reviewer("bob");
  revised->set_file("t1.csv");
  revised->set_decision("approve");
  revised->set_round(2);
  revised->set_comment("fine after all\x1b[2J");
  revised->set_override_reason("checked by hand");
  revised->set_time_unix(1763715600);
  auto* comment = r.add_comments();
  comment->set_author("carol");
  comment->set_file("t1.csv");
  comment->set_version(2);
  comment->set_text("row 3 \x1b]52;c;cGF5bG9hZA==\x07 looks small");
  return r;
}

TEST(RenderHeaderTest, NamesVersionStateImageAndJustification) {
  const std::string out = RenderRequestHeader(ConsolidatingRequest());
  EXPECT_THAT(out, HasSubstr("export 7 v2 of 3  consolidation  p1  by alice  checker: review  "
                             "reviewers needed: 2\n"));
  EXPECT_THAT(out, HasSubstr("image: host:Debian GNU/Linux 12 (bookworm)  sha256:0123abcd"));
  EXPECT_THAT(out, HasSubstr("an earlier version: the latest is v3"));
  EXPECT_THAT(out, HasSubstr("for the paper\n  second line \\x1b[8m"));
  EXPECT_EQ(out.find('\x1b'), std::string::npos);
}

TEST(RenderVotesTest, ConsolidationIsExplainedAndRevisionsMarked) {
  const std::string out = RenderVotesAndComments(ConsolidatingRequest());
  EXPECT_THAT(LineWith(out, "  reject  "), Not(HasSubstr("revised")));
  EXPECT_THAT(LineWith(out, "  approve  "), HasSubstr("(revised in consolidation, round 2)"));
  EXPECT_THAT(out, HasSubstr("override: checked by hand"));
  EXPECT_THAT(out, HasSubstr("carol on t1.csv, v2"));
  EXPECT_THAT(out, HasSubstr("consolidation: the required reviewers have all voted and disagree"));
  EXPECT_THAT(out, HasSubstr("kura review vote 7 FILE"));
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << out;
  EXPECT_EQ(out.find('\x07'), std::string::npos) << out;
  EXPECT_THAT(out, AllOf(HasSubstr("fine after all\\x1b[2J"), HasSubstr("\\x1b]52;c;")));

  kura::v1::ExportRequest reviewing = ConsolidatingRequest();
  reviewing.set_state("in_review");
  EXPECT_THAT(RenderVotesAndComments(reviewing), Not(HasSubstr("disagree")));
}

TEST(RenderVoteOutcomeTest, SaysWhenAVoteRevisesAnEarlierOne) {
  kura::v1::ExportRequest r = ConsolidatingRequest();
  EXPECT_THAT(
      RenderVoteOutcome(r, "t1.csv", "bob"),
      AllOf(HasSubstr("revises your earlier one (consolidation round 2)"), HasSubstr("disagree")));
  r.set_state("approved");
  r.mutable_votes()->RemoveLast();
  EXPECT_EQ(RenderVoteOutcome(r, "t1.csv", "bob"), "");
}

TEST(ExportRequestJsonTest, CarriesRoundsCommentsVersionsAndImage) {
  kura::v1::ExportRequest r = ConsolidatingRequest();
  *r.add_versions()->add_files() = File("a.csv", "aaaa");
  nlohmann::json j = ExportRequestJson(r, false);
  EXPECT_EQ(j["votes"][1]["round"], 2);
  EXPECT_EQ(j["comments"][0]["author"], "carol");
  EXPECT_EQ(j["versions"][0]["files"][0]["path"], "a.csv");
  EXPECT_EQ(j["image"]["digest"], "sha256:0123abcd");
  EXPECT_EQ(j["latest_version"], 3);
  EXPECT_FALSE(j.contains("report"));
}

}  // namespace
}  // namespace kura::cli
