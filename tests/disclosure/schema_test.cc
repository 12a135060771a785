#include "disclosure/schema.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/status_matchers.h"
#include "tests/disclosure/test_files.h"

namespace kura::disclosure {
namespace {

using ::kura::testing::StatusIs;
using ::testing::HasSubstr;

TEST(SchemaTest, LoadsManifestAndDefaultsUnlistedColumnsToQuasiIdentifier) {
  testing::ScratchDir dir;
  const std::string root = testing::WriteTinySchema(dir, testing::Patients("p", 3, "A"));
  KURA_ASSERT_OK_AND_ASSIGN(Schema schema, LoadSchema(root));
  EXPECT_EQ(schema.name, "tiny");
  EXPECT_EQ(schema.data_class, DataClass::kPseudonymized);
  const SchemaTable* table = schema.FindTable("claims");
  ASSERT_NE(table, nullptr);
  EXPECT_EQ(table->UnitColumn(), "patient_id");
  EXPECT_EQ(table->HoldingColumns(), std::vector<std::string>{"hospital_id"});
  EXPECT_EQ(table->RoleOf("cost"), ColumnRole::kMeasure);
  EXPECT_EQ(table->RoleOf("age"), ColumnRole::kQuasiIdentifier);  // Not listed.
  EXPECT_EQ(table->path, root + "/claims.csv");
  EXPECT_EQ(schema.FindTable("nope"), nullptr);
}

struct BadManifest {
  std::string name;
  std::string json;
  std::string message;
};

class BadManifestTest : public ::testing::TestWithParam<BadManifest> {};

TEST_P(BadManifestTest, IsRefusedWithTheField) {
  EXPECT_THAT(ParseSchema(GetParam().json, "m/schema.json", "m"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(GetParam().message)));
}

constexpr char kTable[] = R"("tables": [{"name": "t", "file": "t.csv", "columns": [)";

INSTANTIATE_TEST_SUITE_P(
    Cases, BadManifestTest,
    ::testing::Values(
        BadManifest{"syntax", "{\"name\": \"x\",\n \"data_class\": }",
                    "m/schema.json: invalid JSON: line 2"},
        BadManifest{"direct_identifier",
                    std::string(R"({"name": "x", "data_class": "anonymized", )") + kTable +
                        R"({"name": "full_name", "role": "direct_identifier"}]}]})",
                    "m/schema.json.tables[0].columns[0].role: direct identifiers are refused"},
        BadManifest{"unknown_role",
                    std::string(R"({"name": "x", "data_class": "anonymized", )") + kTable +
                        R"({"name": "a", "role": "secret"}]}]})",
                    "columns[0].role: unknown role \"secret\""},
        BadManifest{"two_units",
                    std::string(R"({"name": "x", "data_class": "anonymized", )") + kTable +
                        R"({"name": "a", "role": "unit_id"}, {"name": "b", "role": "unit_id"}]}]})",
                    "columns[1]: a table has at most one unit_id column"},
        BadManifest{"duplicate_column",
                    std::string(R"({"name": "x", "data_class": "anonymized", )") + kTable +
                        R"({"name": "a", "role": "measure"}, {"name": "a", "role": "measure"}]}]})",
                    "columns[1]: column \"a\" listed twice"},
        BadManifest{"data_class", R"({"name": "x", "data_class": "open", "tables": []})",
                    "m/schema.json.data_class: \"open\" (expected anonymized or pseudonymized)"},
        BadManifest{"no_name", R"({"data_class": "anonymized", "tables": []})",
                    "m/schema.json.name: missing"},
        BadManifest{"no_tables", R"({"name": "x", "data_class": "anonymized", "tables": []})",
                    "tables: expected a non-empty array"},
        BadManifest{
            "traversal",
            R"({"name": "x", "data_class": "anonymized", "tables": [{"name": "t", "file": "../etc/passwd"}]})",
            "tables[0].file: \"../etc/passwd\" must be a plain file name"},
        BadManifest{"unknown_field", R"({"name": "x", "data_class": "anonymized", "tabels": []})",
                    "m/schema.json.tabels: unknown field"},
        BadManifest{"wrong_type", R"({"name": 3, "data_class": "anonymized", "tables": []})",
                    "m/schema.json.name: expected a string, found number"}),
    [](const auto& info) { return info.param.name; });

TEST(SchemaTest, ListedColumnMissingFromHeaderIsRefused) {
  testing::ScratchDir dir;
  const std::string root = dir.Mkdir("s");
  dir.Write("s/schema.json", testing::TinyManifest());
  dir.Write("s/claims.csv", "patient_id,region,sex,cost\n");
  EXPECT_THAT(LoadSchema(root), StatusIs(absl::StatusCode::kInvalidArgument,
                                         HasSubstr("column \"hospital_id\" is not in the header")));
}

TEST(SchemaTest, VerifySchemaDataFindsTheFirstMalformedRecord) {
  testing::ScratchDir dir;
  const std::string root = testing::WriteTinySchema(dir, testing::Patients("p", 3, "A"));
  KURA_ASSERT_OK_AND_ASSIGN(Schema schema, LoadSchema(root));
  EXPECT_THAT(VerifySchemaData(schema), ::kura::testing::IsOk());
  dir.Write("schema/claims.csv",
            std::string(testing::kTinyHeader) + "p1,H1,A,F,30,10,2023\np2,H1,A\n");
  EXPECT_THAT(VerifySchemaData(schema),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("claims.csv:3: expected 7 fields as in the header, found 3")));
}

TEST(SchemaTest, MissingManifestOrTableIsNotFound) {
  testing::ScratchDir dir;
  EXPECT_THAT(LoadSchema(dir.path()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("schema.json")));
  dir.Write("schema.json", testing::TinyManifest());
  EXPECT_THAT(LoadSchema(dir.path()),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("claims.csv")));
}

}  // namespace
}  // namespace kura::disclosure
