#pragma once

// Disclosure-control policies: the thresholds and actions the rules apply. Named packs
// (acro-default, opensafely, ndb-japan) and a JSON file form; see docs/disclosure-report.md.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace kura::disclosure {

// What a rule that fires does to a cell's verdict.
enum class RuleAction { kAllow, kReview, kFail };

absl::string_view RuleActionName(RuleAction action);

enum class RoundingMethod { kNone, kBase, kMidpoint6 };

// A value type; thread-compatible.
struct Policy {
  std::string name = "acro-default";
  int threshold = 10;   // Fewer distinct units than this fails (every statistic).
  int dominance_n = 2;  // (n,k) rule; n = 0 turns it off.
  double dominance_k = 0.9;
  double p_percent = 0.1;       // p% rule; 0 turns it off.
  int holding_threshold = 0;    // Fewer distinct holdings fails; 0 turns it off.
  int holding_dominance_n = 0;  // (n,k) over holdings; n = 0 turns it off.
  double holding_dominance_k = 0;
  RuleAction zeros = RuleAction::kFail;
  RuleAction negative = RuleAction::kReview;
  RuleAction missing = RuleAction::kReview;
  RuleAction endpoint = RuleAction::kFail;
  RuleAction day_dates = RuleAction::kReview;
  int dof = 10;  // Residual degrees of freedom below this fails.
  RoundingMethod rounding = RoundingMethod::kBase;
  int rounding_base = 5;
  double tolerance_absolute = 1e-9;  // |submitted - recomputed| <= max(abs, rel * |recomputed|).
  double tolerance_relative = 1e-9;
  std::vector<std::string> allowed_types = {"csv", "tsv", "txt", "md", "json", "png", "pdf"};
  int64_t max_file_bytes = 64 << 20;
  int64_t max_rows = 100000;
  // Counts below this in a frequency table checked without a spec fail, because it is not known
  // whether they count patients or records (NDB: 1,000 for oral/topical prescriptions). 0: off.
  int64_t unverified_count_threshold = 0;
};

// The names of the built-in packs.
std::vector<std::string> PolicyNames();

// A built-in pack by name; NotFound lists the known names.
absl::StatusOr<Policy> NamedPolicy(absl::string_view name);

// Parses the JSON form. Fields left out keep the values of the pack named by "base"
// (acro-default when absent). `source` names the document in errors.
absl::StatusOr<Policy> ParsePolicy(absl::string_view json_text, absl::string_view source);

// A pack name, or else the path of a JSON policy file.
absl::StatusOr<Policy> LoadPolicy(const std::string& name_or_path);

// The canonical JSON of `policy`: every field, keys sorted, no whitespace.
std::string CanonicalPolicyJson(const Policy& policy);

// SHA-256 (hex) of CanonicalPolicyJson.
std::string PolicySha256(const Policy& policy);

// Rounds a count by the policy's method: base B to the nearest multiple of B (halves up);
// midpoint-6 as 6 * ceil(x / 6) - 3 for x > 0, and 0 for 0. Negative counts are left alone.
int64_t RoundCount(int64_t count, const Policy& policy);

}  // namespace kura::disclosure
