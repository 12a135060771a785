#include "disclosure/policy.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/status_matchers.h"
#include "tests/disclosure/test_files.h"

namespace kura::disclosure {
namespace {

using ::kura::testing::StatusIs;
using ::testing::HasSubstr;

TEST(PolicyTest, NamedPacks) {
  KURA_ASSERT_OK_AND_ASSIGN(Policy acro, NamedPolicy("acro-default"));
  EXPECT_EQ(acro.threshold, 10);
  EXPECT_EQ(acro.dominance_n, 2);
  EXPECT_DOUBLE_EQ(acro.dominance_k, 0.9);
  EXPECT_DOUBLE_EQ(acro.p_percent, 0.1);
  EXPECT_EQ(acro.zeros, RuleAction::kFail);
  EXPECT_EQ(acro.dof, 10);
  EXPECT_EQ(acro.rounding, RoundingMethod::kBase);
  EXPECT_EQ(acro.rounding_base, 5);
  KURA_ASSERT_OK_AND_ASSIGN(Policy os, NamedPolicy("opensafely"));
  EXPECT_EQ(os.threshold, 8);  // Counts of 7 or fewer are redacted.
  KURA_ASSERT_OK_AND_ASSIGN(Policy ndb, NamedPolicy("ndb-japan"));
  EXPECT_EQ(ndb.threshold, 10);
  EXPECT_EQ(ndb.zeros, RuleAction::kAllow);
  EXPECT_EQ(ndb.holding_threshold, 3);
  EXPECT_EQ(ndb.unverified_count_threshold, 1000);
  EXPECT_THAT(NamedPolicy("lenient"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("acro-default")));
}

TEST(PolicyTest, HashIsOfCanonicalJsonAndDiffersPerPack) {
  KURA_ASSERT_OK_AND_ASSIGN(Policy acro, NamedPolicy("acro-default"));
  KURA_ASSERT_OK_AND_ASSIGN(Policy os, NamedPolicy("opensafely"));
  EXPECT_EQ(PolicySha256(acro).size(), 64u);
  EXPECT_NE(PolicySha256(acro), PolicySha256(os));
  // The canonical form reads back as the same policy, hence the same hash.
  KURA_ASSERT_OK_AND_ASSIGN(Policy back, ParsePolicy(CanonicalPolicyJson(acro), "canon.json"));
  EXPECT_EQ(PolicySha256(back), PolicySha256(acro));
  EXPECT_THAT(CanonicalPolicyJson(acro), HasSubstr("\"dominance\":{\"k\":0.9,\"n\":2}"));
}

TEST(PolicyTest, FileFormOverridesItsBase) {
  testing::ScratchDir dir;
  const std::string path =
      dir.Write("p.json", R"({"name": "strict", "base": "ndb-japan", "threshold": 20,
      "dominance": {"n": 1, "k": 0.5}, "rounding": {"method": "midpoint6"}, "zeros": "review",
      "file": {"max_rows": 5, "allowed_types": ["csv"]}})");
  KURA_ASSERT_OK_AND_ASSIGN(Policy p, LoadPolicy(path));
  EXPECT_EQ(p.name, "strict");
  EXPECT_EQ(p.threshold, 20);
  EXPECT_EQ(p.dominance_n, 1);
  EXPECT_EQ(p.holding_threshold, 3);  // From ndb-japan.
  EXPECT_EQ(p.rounding, RoundingMethod::kMidpoint6);
  EXPECT_EQ(p.zeros, RuleAction::kReview);
  EXPECT_EQ(p.max_rows, 5);
  EXPECT_EQ(p.allowed_types, std::vector<std::string>{"csv"});
  KURA_ASSERT_OK_AND_ASSIGN(
      Policy off, ParsePolicy(R"({"name": "x", "dominance": null, "p_percent": null})", "x"));
  EXPECT_EQ(off.dominance_n, 0);
  EXPECT_EQ(off.p_percent, 0);
}

struct BadPolicy {
  std::string name;
  std::string json;
  std::string message;
};

class BadPolicyTest : public ::testing::TestWithParam<BadPolicy> {};

TEST_P(BadPolicyTest, IsRefusedWithTheField) {
  EXPECT_THAT(ParsePolicy(GetParam().json, "p.json"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(GetParam().message)));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadPolicyTest,
    ::testing::Values(
        BadPolicy{"syntax", "{\"name\": ", "p.json: invalid JSON: line 1"},
        BadPolicy{"no_name", "{}", "p.json.name: missing"},
        BadPolicy{"action", R"({"name": "x", "zeros": "maybe"})",
                  "p.json.zeros: \"maybe\" (expected allow, review or fail)"},
        BadPolicy{"k", R"({"name": "x", "dominance": {"n": 2, "k": 1.5}})",
                  "p.json.dominance.k: expected 0 < k <= 1"},
        BadPolicy{"n", R"({"name": "x", "dominance": {"n": 0.5, "k": 0.5}})",
                  "p.json.dominance.n: expected an integer"},
        BadPolicy{"huge_n", R"({"name": "x", "dominance": {"n": 1e300, "k": 0.5}})",
                  "p.json.dominance.n: expected an integer from 1 to 1000"},
        BadPolicy{"huge_threshold", R"({"name": "x", "threshold": 1e30})",
                  "p.json.threshold: expected an integer from 0 to"},
        BadPolicy{"threshold", R"({"name": "x", "threshold": -1})",
                  "p.json.threshold: expected an integer from 0 to 2147483647"},
        BadPolicy{"rounding", R"({"name": "x", "rounding": {"method": "banker"}})",
                  "p.json.rounding.method"},
        BadPolicy{"base", R"({"name": "x", "base": "nope"})", "p.json.base: no policy named"},
        BadPolicy{"unknown", R"({"name": "x", "treshold": 5})", "p.json.treshold: unknown field"}),
    [](const auto& info) { return info.param.name; });

TEST(RoundCountTest, BaseAndMidpoint6) {
  Policy base;
  base.rounding = RoundingMethod::kBase;
  base.rounding_base = 5;
  Policy mid = base;
  mid.rounding = RoundingMethod::kMidpoint6;
  Policy ten = base;
  ten.rounding_base = 10;
  struct Case {
    int64_t in, base5, mid6, base10;
  };
  for (const Case& c :
       {Case{0, 0, 0, 0}, Case{1, 0, 3, 0}, Case{2, 0, 3, 0}, Case{3, 5, 3, 0}, Case{6, 5, 3, 10},
        Case{7, 5, 9, 10}, Case{8, 10, 9, 10}, Case{12, 10, 9, 10}, Case{13, 15, 15, 10},
        Case{15, 15, 15, 20}, Case{18, 20, 15, 20}, Case{19, 20, 21, 20}}) {
    EXPECT_EQ(RoundCount(c.in, base), c.base5) << c.in;
    EXPECT_EQ(RoundCount(c.in, mid), c.mid6) << c.in;
    EXPECT_EQ(RoundCount(c.in, ten), c.base10) << c.in;
  }
}

}  // namespace
}  // namespace kura::disclosure
