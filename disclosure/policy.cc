#include "disclosure/policy.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/crypto.h"
#include "common/status.h"
#include "disclosure/json_util.h"
#include "disclosure/number.h"

namespace kura::disclosure {
namespace {

Policy AcroDefault() { return Policy{}; }

Policy OpenSafely() {
  Policy p;
  p.name = "opensafely";
  p.threshold = 8;  // Redact counts of 7 or fewer.
  p.dominance_n = 0;
  p.p_percent = 0;
  p.zeros = RuleAction::kAllow;
  p.missing = RuleAction::kAllow;
  p.rounding = RoundingMethod::kBase;
  p.rounding_base = 5;
  return p;
}

Policy NdbJapan() {
  Policy p;
  p.name = "ndb-japan";
  p.threshold = 10;         // Fewer than 10 distinct patients is not published.
  p.holding_threshold = 3;  // Fewer than 3 institutions (hospitals, pharmacies) is not published.
  p.dominance_n = 0;
  p.p_percent = 0;
  p.zeros = RuleAction::kAllow;
  p.rounding = RoundingMethod::kNone;
  p.unverified_count_threshold = 1000;
  return p;
}

absl::StatusOr<RuleAction> ParseAction(const JsonObject& object, const std::string& key,
                                       RuleAction fallback) {
  KURA_ASSIGN_OR_RETURN(std::string text,
                        object.GetStringOr(key, std::string(RuleActionName(fallback))));
  if (text == "allow") return RuleAction::kAllow;
  if (text == "review") return RuleAction::kReview;
  if (text == "fail") return RuleAction::kFail;
  return absl::InvalidArgumentError(
      absl::StrCat(object.Path(key), ": \"", text, "\" (expected allow, review or fail)"));
}

absl::Status ParseNk(const JsonObject& object, const std::string& key, int* n, double* k) {
  // Absent keeps the base; an explicit null (handled by ParsePolicy) turns the rule off.
  if (!object.Has(key)) return absl::OkStatus();
  const nlohmann::json& value = object.Get(key);
  KURA_ASSIGN_OR_RETURN(JsonObject nk, JsonObject::Of(value, object.Path(key), {"n", "k"}));
  KURA_ASSIGN_OR_RETURN(double nv, nk.GetNumberOr("n", -1));
  KURA_ASSIGN_OR_RETURN(double kv, nk.GetNumberOr("k", -1));
  if (!(nv >= 1 && nv <= 1000) || nv != std::floor(nv)) {
    return absl::InvalidArgumentError(
        absl::StrCat(nk.Path("n"), ": expected an integer from 1 to 1000"));
  }
  if (!(kv > 0 && kv <= 1))
    return absl::InvalidArgumentError(absl::StrCat(nk.Path("k"), ": expected 0 < k <= 1"));
  *n = static_cast<int>(nv);
  *k = kv;
  return absl::OkStatus();
}

// An integer in [0, max]; `max` defaults to what an int holds.
absl::StatusOr<int64_t> GetCount(const JsonObject& object, const std::string& key, int64_t fallback,
                                 double max = 2147483647.0) {
  KURA_ASSIGN_OR_RETURN(double v, object.GetNumberOr(key, static_cast<double>(fallback)));
  if (!(v >= 0 && v <= max) || v != std::floor(v)) {
    return absl::InvalidArgumentError(
        absl::StrCat(object.Path(key), ": expected an integer from 0 to ", FormatNumber(max)));
  }
  return static_cast<int64_t>(v);
}

absl::Status ParseRounding(const JsonObject& object, Policy* p) {
  if (!object.Has("rounding")) return absl::OkStatus();
  KURA_ASSIGN_OR_RETURN(JsonObject r, JsonObject::Of(object.Get("rounding"),
                                                     object.Path("rounding"), {"method", "base"}));
  KURA_ASSIGN_OR_RETURN(std::string method, r.GetString("method"));
  if (method == "none") {
    p->rounding = RoundingMethod::kNone;
  } else if (method == "midpoint6") {
    p->rounding = RoundingMethod::kMidpoint6;
  } else if (method == "base") {
    p->rounding = RoundingMethod::kBase;
    KURA_ASSIGN_OR_RETURN(int64_t base, GetCount(r, "base", p->rounding_base));
    if (base < 1)
      return absl::InvalidArgumentError(absl::StrCat(r.Path("base"), ": expected >= 1"));
    p->rounding_base = static_cast<int>(base);
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(r.Path("method"), ": \"", method, "\" (expected none, base or midpoint6)"));
  }
  return absl::OkStatus();
}

absl::Status ParseFileLimits(const JsonObject& object, Policy* p) {
  if (!object.Has("file")) return absl::OkStatus();
  KURA_ASSIGN_OR_RETURN(JsonObject f, JsonObject::Of(object.Get("file"), object.Path("file"),
                                                     {"allowed_types", "max_bytes", "max_rows"}));
  if (f.Has("allowed_types")) {
    KURA_ASSIGN_OR_RETURN(p->allowed_types, f.GetStringList("allowed_types"));
  }
  KURA_ASSIGN_OR_RETURN(p->max_file_bytes, GetCount(f, "max_bytes", p->max_file_bytes, 1e15));
  KURA_ASSIGN_OR_RETURN(p->max_rows, GetCount(f, "max_rows", p->max_rows, 1e15));
  return absl::OkStatus();
}

absl::Status ParseRules(const JsonObject& o, Policy* p) {
  KURA_ASSIGN_OR_RETURN(int64_t threshold, GetCount(o, "threshold", p->threshold));
  p->threshold = static_cast<int>(threshold);
  KURA_RETURN_IF_ERROR(ParseNk(o, "dominance", &p->dominance_n, &p->dominance_k));
  KURA_RETURN_IF_ERROR(
      ParseNk(o, "holding_dominance", &p->holding_dominance_n, &p->holding_dominance_k));
  KURA_ASSIGN_OR_RETURN(p->p_percent, o.GetNumberOr("p_percent", p->p_percent));
  if (p->p_percent < 0 || p->p_percent >= 1) {
    return absl::InvalidArgumentError(absl::StrCat(o.Path("p_percent"), ": expected 0 <= p < 1"));
  }
  KURA_ASSIGN_OR_RETURN(int64_t holdings, GetCount(o, "holding_threshold", p->holding_threshold));
  p->holding_threshold = static_cast<int>(holdings);
  KURA_ASSIGN_OR_RETURN(int64_t dof, GetCount(o, "dof", p->dof));
  p->dof = static_cast<int>(dof);
  KURA_ASSIGN_OR_RETURN(p->zeros, ParseAction(o, "zeros", p->zeros));
  KURA_ASSIGN_OR_RETURN(p->negative, ParseAction(o, "negative", p->negative));
  KURA_ASSIGN_OR_RETURN(p->missing, ParseAction(o, "missing", p->missing));
  KURA_ASSIGN_OR_RETURN(p->endpoint, ParseAction(o, "endpoint", p->endpoint));
  KURA_ASSIGN_OR_RETURN(p->day_dates, ParseAction(o, "day_dates", p->day_dates));
  KURA_ASSIGN_OR_RETURN(
      p->unverified_count_threshold,
      GetCount(o, "unverified_count_threshold", p->unverified_count_threshold, 1e15));
  return absl::OkStatus();
}

absl::Status ParseTolerance(const JsonObject& o, Policy* p) {
  if (!o.Has("tolerance")) return absl::OkStatus();
  KURA_ASSIGN_OR_RETURN(JsonObject t, JsonObject::Of(o.Get("tolerance"), o.Path("tolerance"),
                                                     {"absolute", "relative"}));
  KURA_ASSIGN_OR_RETURN(p->tolerance_absolute, t.GetNumberOr("absolute", p->tolerance_absolute));
  KURA_ASSIGN_OR_RETURN(p->tolerance_relative, t.GetNumberOr("relative", p->tolerance_relative));
  if (p->tolerance_absolute < 0 || p->tolerance_relative < 0) {
    return absl::InvalidArgumentError(absl::StrCat(o.Path("tolerance"), ": must not be negative"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::string_view RuleActionName(RuleAction action) {
  switch (action) {
    case RuleAction::kAllow:
      return "allow";
    case RuleAction::kReview:
      return "review";
    case RuleAction::kFail:
      return "fail";
  }
  return "fail";
}

std::vector<std::string> PolicyNames() { return {"acro-default", "opensafely", "ndb-japan"}; }

absl::StatusOr<Policy> NamedPolicy(absl::string_view name) {
  if (name == "acro-default") return AcroDefault();
  if (name == "opensafely") return OpenSafely();
  if (name == "ndb-japan") return NdbJapan();
  return absl::NotFoundError(absl::StrCat("no policy named \"", name,
                                          "\" (known: ", absl::StrJoin(PolicyNames(), ", "),
                                          "; or give a JSON policy file)"));
}

absl::StatusOr<Policy> ParsePolicy(absl::string_view json_text, absl::string_view source) {
  KURA_ASSIGN_OR_RETURN(nlohmann::json json, ParseJson(json_text, source));
  KURA_ASSIGN_OR_RETURN(
      JsonObject o,
      JsonObject::Of(
          json, std::string(source),
          {"name", "base", "threshold", "dominance", "p_percent", "holding_threshold",
           "holding_dominance", "zeros", "negative", "missing", "endpoint", "day_dates", "dof",
           "rounding", "tolerance", "file", "unverified_count_threshold", "description"}));
  KURA_ASSIGN_OR_RETURN(std::string base, o.GetStringOr("base", "acro-default"));
  absl::StatusOr<Policy> based = NamedPolicy(base);
  if (!based.ok())
    return absl::InvalidArgumentError(absl::StrCat(o.Path("base"), ": ", based.status().message()));
  Policy p = *based;
  KURA_ASSIGN_OR_RETURN(p.name, o.GetString("name"));
  if (p.name.empty()) return absl::InvalidArgumentError(absl::StrCat(o.Path("name"), ": empty"));
  // An explicit null turns an optional rule off.
  if (o.Get("dominance").is_null() && json.contains("dominance")) p.dominance_n = 0;
  if (o.Get("holding_dominance").is_null() && json.contains("holding_dominance"))
    p.holding_dominance_n = 0;
  if (json.contains("rounding") && json["rounding"].is_null()) p.rounding = RoundingMethod::kNone;
  if (json.contains("p_percent") && json["p_percent"].is_null()) p.p_percent = 0;
  KURA_RETURN_IF_ERROR(ParseRules(o, &p));
  KURA_RETURN_IF_ERROR(ParseRounding(o, &p));
  KURA_RETURN_IF_ERROR(ParseTolerance(o, &p));
  KURA_RETURN_IF_ERROR(ParseFileLimits(o, &p));
  return p;
}

absl::StatusOr<Policy> LoadPolicy(const std::string& name_or_path) {
  absl::StatusOr<Policy> named = NamedPolicy(name_or_path);
  if (named.ok()) return named;
  struct stat st;
  if (::stat(name_or_path.c_str(), &st) != 0) return named.status();
  KURA_ASSIGN_OR_RETURN(std::string text, ReadFile(name_or_path));
  return ParsePolicy(text, name_or_path);
}

std::string CanonicalPolicyJson(const Policy& p) {
  nlohmann::json j;
  j["name"] = p.name;
  j["threshold"] = p.threshold;
  j["dominance"] = p.dominance_n > 0 ? nlohmann::json{{"n", p.dominance_n}, {"k", p.dominance_k}}
                                     : nlohmann::json();
  j["p_percent"] = p.p_percent;
  j["holding_threshold"] = p.holding_threshold;
  j["holding_dominance"] = p.holding_dominance_n > 0 ? nlohmann::json{{"n", p.holding_dominance_n},
                                                                      {"k", p.holding_dominance_k}}
                                                     : nlohmann::json();
  j["zeros"] = std::string(RuleActionName(p.zeros));
  j["negative"] = std::string(RuleActionName(p.negative));
  j["missing"] = std::string(RuleActionName(p.missing));
  j["endpoint"] = std::string(RuleActionName(p.endpoint));
  j["day_dates"] = std::string(RuleActionName(p.day_dates));
  j["dof"] = p.dof;
  switch (p.rounding) {
    case RoundingMethod::kNone:
      j["rounding"] = {{"method", "none"}};
      break;
    case RoundingMethod::kBase:
      j["rounding"] = {{"method", "base"}, {"base", p.rounding_base}};
      break;
    case RoundingMethod::kMidpoint6:
      j["rounding"] = {{"method", "midpoint6"}};
      break;
  }
  j["tolerance"] = {{"absolute", p.tolerance_absolute}, {"relative", p.tolerance_relative}};
  j["file"] = {{"allowed_types", p.allowed_types},
               {"max_bytes", p.max_file_bytes},
               {"max_rows", p.max_rows}};
  j["unverified_count_threshold"] = p.unverified_count_threshold;
  return j.dump();
}

std::string PolicySha256(const Policy& policy) { return Sha256Hex(CanonicalPolicyJson(policy)); }

int64_t RoundCount(int64_t count, const Policy& policy) {
  if (count <= 0) return count;
  switch (policy.rounding) {
    case RoundingMethod::kNone:
      return count;
    case RoundingMethod::kBase: {
      const int64_t b = policy.rounding_base;
      return ((count + b / 2) / b) * b;
    }
    case RoundingMethod::kMidpoint6:
      return 6 * ((count + 5) / 6) - 3;
  }
  return count;
}

}  // namespace kura::disclosure
