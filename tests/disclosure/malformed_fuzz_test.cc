// Mutated inputs (flipped, inserted and cut bytes) must give OK or a clear InvalidArgument,
// never a crash or another kind of error. Deterministic: a fixed seed.

#include <cstdint>
#include <string>

#include "disclosure/csv_reader.h"
#include "disclosure/policy.h"
#include "disclosure/schema.h"
#include "disclosure/table_spec.h"
#include "gtest/gtest.h"
#include "tests/disclosure/test_files.h"

namespace kura::disclosure {
namespace {

class Mutator {
 public:
  explicit Mutator(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return state_;
  }
  std::string Mutate(std::string s) {
    static constexpr char kBytes[] = ",\"\r\n{}[]:\\\x00\xff\xc3 a1";
    const int edits = 1 + static_cast<int>(Next() % 4);
    for (int i = 0; i < edits && !s.empty(); ++i) {
      const size_t at = Next() % s.size();
      const char byte = kBytes[Next() % (sizeof(kBytes) - 1)];
      switch (Next() % 3) {
        case 0:
          s[at] = byte;
          break;
        case 1:
          s.insert(s.begin() + static_cast<long>(at), byte);
          break;
        default:
          s.resize(at);
          break;
      }
    }
    return s;
  }

 private:
  uint64_t state_;
};

template <typename Result>
void ExpectOkOrInvalid(const Result& result, const std::string& input) {
  const absl::StatusCode code = result.status().code();
  EXPECT_TRUE(code == absl::StatusCode::kOk || code == absl::StatusCode::kInvalidArgument)
      << result.status() << "\ninput: " << input;
  if (code == absl::StatusCode::kInvalidArgument) {
    EXPECT_FALSE(result.status().message().empty());
  }
}

TEST(MalformedFuzzTest, CsvNeverCrashes) {
  const std::string csv = "a,b,c\r\n1,\"x, \"\"y\"\"\",z\n2,\"multi\nline\",\xE6\x9D\xB1\n3,,\n";
  Mutator m(1);
  for (int i = 0; i < 3000; ++i) {
    const std::string input = m.Mutate(csv);
    ExpectOkOrInvalid(ParseCsv(input, "fuzz.csv"), input);
  }
}

TEST(MalformedFuzzTest, JsonDocumentsNeverCrash) {
  const std::string manifest = testing::TinyManifest();
  const std::string spec =
      R"({"schema": "s", "table": "t", "output": "o.csv", "rows": ["a"], "cols": ["b"],
      "statistic": "mean", "value": "v", "filter": [{"column": "y", "op": "in", "value": [1, "2"]}],
      "structural_zeros": [{"a": "x"}], "tolerance": 0.5})";
  const std::string policy = R"({"name": "p", "base": "ndb-japan", "dominance": {"n": 2, "k": 0.8},
      "rounding": {"method": "base", "base": 10}, "file": {"allowed_types": ["csv"], "max_rows": 9}})";
  Mutator m(2);
  for (int i = 0; i < 3000; ++i) {
    const std::string a = m.Mutate(manifest), b = m.Mutate(spec), c = m.Mutate(policy);
    ExpectOkOrInvalid(ParseSchema(a, "schema.json", "."), a);
    ExpectOkOrInvalid(ParseTableSpec(b, "spec.json"), b);
    ExpectOkOrInvalid(ParsePolicy(c, "policy.json"), c);
  }
}

}  // namespace
}  // namespace kura::disclosure
