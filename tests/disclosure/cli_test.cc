// Runs the built kura-sdc and kura-synth: exit codes, both report forms, mitigation output.

#include <sys/wait.h>

#include <cstdio>
#include <string>

#include "disclosure/json_util.h"
#include "disclosure/schema.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/disclosure/test_files.h"

namespace kura::disclosure {
namespace {

using ::testing::HasSubstr;

struct ToolRun {
  int exit_code = -1;
  std::string out;
};

// Runs `args` (already shell-quoted where needed) with stdout captured, stderr merged.
ToolRun RunTool(const std::string& binary, const std::string& args) {
  ToolRun run;
  FILE* pipe = popen(absl::StrCat(binary, " ", args, " 2>&1").c_str(), "r");
  if (pipe == nullptr) return run;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof(buffer), pipe)) > 0) run.out.append(buffer, n);
  const int status = pclose(pipe);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

ToolRun Sdc(const std::string& args) { return RunTool(KURA_SDC_BIN, absl::StrCat("check ", args)); }

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    schema_ = testing::WriteTinySchema(
        dir_, testing::Concat({testing::Patients("pa", 10, "A", "100", 3),
                               testing::Patients("pb", 9, "B", "100", 3)}));
    spec_ = dir_.Write("spec.json", R"({"schema": "tiny", "table": "claims", "output": "t.csv",
        "rows": ["region"], "statistic": "count"})");
  }
  std::string Args(const std::string& table, const std::string& extra = "") {
    return absl::StrCat("--schema ", schema_, " --spec ", spec_, " ", extra, " ",
                        dir_.Write("t.csv", table));
  }

  testing::ScratchDir dir_;
  std::string schema_;
  std::string spec_;
};

TEST_F(CliTest, ExitZeroWhenEverythingPasses) {
  ToolRun run = Sdc(Args("region,value\nA,10\n"));
  EXPECT_EQ(run.exit_code, 0) << run.out;
  const nlohmann::json report = nlohmann::json::parse(run.out);
  EXPECT_EQ(report["checker"]["version"], "0.1.0");
  EXPECT_EQ(report["policy"]["name"], "acro-default");
  EXPECT_EQ(report["policy"]["sha256"].get<std::string>().size(), 64u);
  const auto& file = report["files"][0];
  EXPECT_EQ(file["verdict"], "pass");
  EXPECT_EQ(file["verified"], true);
  EXPECT_EQ(file["sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(file["cells"][0]["key"]["region"], "A");
  EXPECT_EQ(file["cells"][0]["value"], 10);
  EXPECT_EQ(file["cells"][0]["evidence"]["units"], 10);
  EXPECT_EQ(file["cells"][0]["evidence"]["holdings"], 3);
  EXPECT_TRUE(file["cells"][0]["evidence"]["top"].is_array());
}

TEST_F(CliTest, ExitOneWhenReviewIsNeeded) {
  const std::string fig = dir_.Write("fig.png", std::string("\x89PNG\r\n\x1a\n", 8));
  ToolRun run = Sdc(absl::StrCat("--schema ", schema_, " --format text ", fig));
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_THAT(run.out, HasSubstr("supply the underlying table"));
}

TEST_F(CliTest, ExitTwoWhenACellFailsAndTextMarksIt) {
  ToolRun run = Sdc(Args("region,value\nA,10\nB,9\n", "--format text"));
  EXPECT_EQ(run.exit_code, 2) << run.out;
  EXPECT_THAT(run.out, HasSubstr("!! FAIL   region=B  value=9  units=9"));
  EXPECT_THAT(run.out, HasSubstr("threshold fail (9 distinct units < 10)"));
}

TEST_F(CliTest, SuppressWritesTheMitigatedTable) {
  ToolRun run =
      Sdc(Args("region,value\nA,10\nB,9\n",
               absl::StrCat("--mitigate suppress --out ", dir_.Path("safe"), " --format text")));
  EXPECT_EQ(run.exit_code, 0) << run.out;
  EXPECT_THAT(run.out, HasSubstr("mitigation: suppress"));
  auto written = ReadFile(dir_.Path("safe/t.csv"));
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(*written, "region,value\nA,10\nB,*\n");
}

struct BadRun {
  std::string name;
  std::string args;  // {schema} {spec} {dir} are replaced.
  std::string message;
};

class CliBadInputTest : public CliTest, public ::testing::WithParamInterface<BadRun> {};

TEST_P(CliBadInputTest, ExitsThreeWithAClearMessage) {
  std::string args = GetParam().args;
  auto replace = [&](const std::string& from, const std::string& to) {
    for (size_t at; (at = args.find(from)) != std::string::npos;) args.replace(at, from.size(), to);
  };
  dir_.Write("t.csv", "region,value\nA,10\n");
  dir_.Write("bad.json", "{\"schema\": \"tiny\",\n \"statistic\": count}");
  replace("{schema}", schema_);
  replace("{spec}", spec_);
  replace("{dir}", dir_.path());
  ToolRun run = Sdc(args);
  EXPECT_EQ(run.exit_code, 3) << run.out;
  EXPECT_THAT(run.out, HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, CliBadInputTest,
    ::testing::Values(
        BadRun{"no_schema_flag", "{dir}/t.csv", "--schema DIR is required"},
        BadRun{"missing_schema", "--schema {dir}/none {dir}/t.csv", "none/schema.json"},
        BadRun{"bad_spec", "--schema {schema} --spec {dir}/bad.json {dir}/t.csv",
               "bad.json: invalid JSON: line 2"},
        BadRun{"unknown_policy", "--schema {schema} --policy lax {dir}/t.csv",
               "no policy named \"lax\""},
        BadRun{"unknown_flag", "--schema {schema} --fast {dir}/t.csv", "unknown flag --fast"},
        BadRun{"mitigate_without_out", "--schema {schema} --mitigate round {dir}/t.csv",
               "--mitigate needs --out"},
        BadRun{"missing_file", "--schema {schema} {dir}/gone.csv", "gone.csv"},
        BadRun{"no_files", "--schema {schema}", "no files to check"}),
    [](const auto& info) { return info.param.name; });

TEST(SynthCliTest, SameSeedSameBytes) {
  testing::ScratchDir dir;
  for (const char* out : {"a", "b"}) {
    ToolRun run =
        RunTool(KURA_SYNTH_BIN, absl::StrCat("--rows 2000 --seed 42 --out ", dir.Path(out)));
    ASSERT_EQ(run.exit_code, 0) << run.out;
  }
  ToolRun c = RunTool(KURA_SYNTH_BIN, absl::StrCat("--rows 2000 --seed 43 --out ", dir.Path("c")));
  ASSERT_EQ(c.exit_code, 0);
  auto a = ReadFile(dir.Path("a/claims.csv"));
  auto b = ReadFile(dir.Path("b/claims.csv"));
  auto other = ReadFile(dir.Path("c/claims.csv"));
  ASSERT_TRUE(a.ok() && b.ok() && other.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_NE(*a, *other);
  EXPECT_EQ(std::count(a->begin(), a->end(), '\n'), 2001);
  // The generated schema loads and its identifiers are caught in an output.
  const std::string note = dir.Write("note.txt", a->substr(a->find('\n') + 1, 8));
  ToolRun run = Sdc(absl::StrCat("--schema ", dir.Path("a"), " ", note));
  EXPECT_EQ(run.exit_code, 2) << run.out;
  EXPECT_THAT(run.out, HasSubstr("identifier_value"));
}

TEST(SynthCliTest, DataClassIsWhatTheManifestDeclares) {
  testing::ScratchDir dir;
  struct Case {
    const char* out;
    const char* flag;
    DataClass expected;
  };
  for (const Case& c : {Case{"default", "", DataClass::kAnonymized},
                        Case{"anon", "--data-class anonymized", DataClass::kAnonymized},
                        Case{"pseudo", "--data-class pseudonymized", DataClass::kPseudonymized}}) {
    ToolRun run =
        RunTool(KURA_SYNTH_BIN, absl::StrCat("--rows 50 ", c.flag, " --out ", dir.Path(c.out)));
    ASSERT_EQ(run.exit_code, 0) << c.flag << ": " << run.out;
    auto schema = LoadSchema(dir.Path(c.out));
    ASSERT_TRUE(schema.ok()) << c.flag << ": " << schema.status();
    EXPECT_EQ(schema->data_class, c.expected) << c.flag;
  }
  // Without the flag the manifest is the anonymized one; the two classes differ in nothing else.
  auto by_default = ReadFile(dir.Path("default/schema.json"));
  auto anonymized = ReadFile(dir.Path("anon/schema.json"));
  auto pseudonymized = ReadFile(dir.Path("pseudo/schema.json"));
  ASSERT_TRUE(by_default.ok() && anonymized.ok() && pseudonymized.ok());
  EXPECT_EQ(*anonymized, *by_default);
  std::string expected = *anonymized;
  expected.replace(expected.find("\"anonymized\""), 12, "\"pseudonymized\"");
  EXPECT_EQ(*pseudonymized, expected);

  for (const char* bad : {"--data-class identified", "--data-class Anonymized", "--data-class"}) {
    const std::string out = dir.Path("refused");
    ToolRun run = RunTool(KURA_SYNTH_BIN, absl::StrCat("--rows 50 --out ", out, " ", bad));
    EXPECT_EQ(run.exit_code, 3) << bad << ": " << run.out;
    EXPECT_THAT(run.out, HasSubstr("--data-class anonymized|pseudonymized")) << bad;
    EXPECT_FALSE(ReadFile(out + "/schema.json").ok()) << bad << ": a manifest was written";
  }
}

}  // namespace
}  // namespace kura::disclosure
