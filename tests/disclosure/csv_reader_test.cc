#include "disclosure/csv_reader.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/status_matchers.h"
#include "tests/disclosure/test_files.h"

namespace kura::disclosure {
namespace {

using ::kura::testing::IsOk;
using ::kura::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(ParseCsvTest, ReadsRfc4180) {
  KURA_ASSERT_OK_AND_ASSIGN(
      CsvDocument doc,
      ParseCsv("a,b,c\r\n1,\"x, y\",\"say "
               "\"\"hi\"\"\"\r\n2,\"two\nlines\",\xE6\x9D\xB1\xE4\xBA\xAC\n\n3,,\n",
               "t.csv"));
  EXPECT_THAT(doc.header, ElementsAre("a", "b", "c"));
  ASSERT_EQ(doc.rows.size(), 3u);
  EXPECT_THAT(doc.rows[0], ElementsAre("1", "x, y", "say \"hi\""));
  EXPECT_THAT(doc.rows[1], ElementsAre("2", "two\nlines", "東京"));
  EXPECT_THAT(doc.rows[2], ElementsAre("3", "", ""));
  EXPECT_THAT(doc.lines, ElementsAre(2, 3, 6));
}

TEST(ParseCsvTest, AcceptsByteOrderMarkAndNoFinalNewline) {
  KURA_ASSERT_OK_AND_ASSIGN(CsvDocument doc, ParseCsv("\xEF\xBB\xBFx,y\n1,2", "t.csv"));
  EXPECT_THAT(doc.header, ElementsAre("x", "y"));
  EXPECT_THAT(doc.rows[0], ElementsAre("1", "2"));
}

struct MalformedCase {
  std::string name;
  std::string text;
  std::string message;
};

class MalformedCsvTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedCsvTest, NamesFileLineAndField) {
  EXPECT_THAT(ParseCsv(GetParam().text, "out.csv"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(GetParam().message)));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, MalformedCsvTest,
    ::testing::Values(
        MalformedCase{"unterminated", "a,b\n1,\"open\n",
                      "out.csv:2: field 2 (b): unterminated quoted field"},
        MalformedCase{"too_few", "a,b\n1,2\n3\n",
                      "out.csv:3: expected 2 fields as in the header, found 1"},
        MalformedCase{"too_many", "a,b\n1,2,3\n", "out.csv:2: expected 2 fields"},
        MalformedCase{"bare_quote", "a,b\n1,x\"y\n",
                      "out.csv:2: field 2 (b): quote character inside an unquoted field"},
        MalformedCase{"after_quote", "a,b\n\"1\"x,2\n",
                      "out.csv:2: field 1 (a): text after the closing quote"},
        MalformedCase{"bad_utf8", "a,b\n1,\xff\n", "out.csv:2: field 2 (b): invalid UTF-8"},
        MalformedCase{"overlong_utf8", "a,b\n1,\xC0\xAF\n", "invalid UTF-8"},
        MalformedCase{"lone_cr", "a,b\n1,2\r3\n",
                      "out.csv:2: field 2 (b): carriage return not followed by a line feed"},
        MalformedCase{"empty", "", "out.csv:1: empty file"},
        MalformedCase{"duplicate_column", "a,a\n1,2\n",
                      "out.csv:1: header field 2: column \"a\" appears twice"},
        MalformedCase{"empty_column", "a,,c\n1,2,3\n", "out.csv:1: header field 2 is empty"}),
    [](const auto& info) { return info.param.name; });

class CountingVisitor final : public RowVisitor {
 public:
  absl::Status OnRow(absl::Span<const absl::string_view> fields) override {
    ++rows;
    for (auto f : fields) bytes += f.size();
    if (fail_on == rows) return absl::InvalidArgumentError("field x: bad value");
    return absl::OkStatus();
  }
  int64_t rows = 0;
  int64_t bytes = 0;
  int64_t fail_on = -1;
};

TEST(CsvTableReaderTest, PartsCoverEveryRecordOnce) {
  testing::ScratchDir dir;
  std::string text = "id,v\n";
  for (int i = 0; i < 300000; ++i) absl::StrAppend(&text, "u", i, ",", i % 97, "\n");
  const std::string path = dir.Write("t.csv", text);
  for (int parts : {1, 2, 3, 7}) {
    KURA_ASSERT_OK_AND_ASSIGN(auto reader, CsvTableReader::Open(path, parts));
    EXPECT_EQ(reader->part_count(), parts);
    int64_t rows = 0, bytes = 0;
    for (int p = 0; p < reader->part_count(); ++p) {
      CountingVisitor visitor;
      ASSERT_THAT(reader->ScanPart(p, visitor), IsOk());
      rows += visitor.rows;
      bytes += visitor.bytes;
    }
    EXPECT_EQ(rows, 300000) << parts;
    EXPECT_GT(bytes, 0);
  }
}

TEST(CsvTableReaderTest, QuotedFileIsOnePart) {
  testing::ScratchDir dir;
  std::string text = "id,v\n";
  for (int i = 0; i < 100000; ++i) absl::StrAppend(&text, "u", i, ",\"a\nb\"\n");
  KURA_ASSERT_OK_AND_ASSIGN(auto reader, CsvTableReader::Open(dir.Write("t.csv", text), 4));
  EXPECT_EQ(reader->part_count(), 1);
  CountingVisitor visitor;
  ASSERT_THAT(reader->ScanPart(0, visitor), IsOk());
  EXPECT_EQ(visitor.rows, 100000);
}

TEST(CsvTableReaderTest, VisitorErrorsGetFileAndLine) {
  testing::ScratchDir dir;
  const std::string path = dir.Write("t.csv", "id,v\na,1\nb,2\nc,3\n");
  KURA_ASSERT_OK_AND_ASSIGN(auto reader, CsvTableReader::Open(path));
  CountingVisitor visitor;
  visitor.fail_on = 2;
  EXPECT_THAT(reader->ScanPart(0, visitor), StatusIs(absl::StatusCode::kInvalidArgument,
                                                     HasSubstr("t.csv:3: field x: bad value")));
}

TEST(CsvTableReaderTest, MissingFileIsNotFound) {
  EXPECT_THAT(CsvTableReader::Open("/nonexistent/kura.csv"), StatusIs(absl::StatusCode::kNotFound));
}

TEST(CsvTableReaderTest, HeaderOnly) {
  testing::ScratchDir dir;
  KURA_ASSERT_OK_AND_ASSIGN(auto header,
                            ReadCsvHeader(dir.Write("t.csv", "a,\"b\nc\",d\n1,2,3\n")));
  EXPECT_THAT(header, ElementsAre("a", "b\nc", "d"));
}

TEST(FormatCsvTest, RoundTrips) {
  CsvDocument doc;
  doc.header = {"k", "v"};
  doc.rows = {{"a,b", "say \"x\""}, {"line\nbreak", "*"}};
  const std::string text = FormatCsv(doc);
  KURA_ASSERT_OK_AND_ASSIGN(CsvDocument back, ParseCsv(text, "x.csv"));
  EXPECT_EQ(back.header, doc.header);
  EXPECT_EQ(back.rows, doc.rows);
}

}  // namespace
}  // namespace kura::disclosure
