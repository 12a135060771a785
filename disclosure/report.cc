#include "disclosure/report.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "disclosure/number.h"

namespace kura::disclosure {
namespace {

nlohmann::json FindingToJson(const Finding& f) {
  return {{"rule", f.rule}, {"verdict", std::string(VerdictName(f.verdict))}, {"detail", f.detail}};
}

nlohmann::json ValueToJson(const std::optional<std::string>& value) {
  if (!value.has_value()) return nullptr;
  double number = 0;
  if (ParseNumber(*value, &number)) return number;
  return *value;
}

nlohmann::json EvidenceToJson(const CellEvidence& e) {
  nlohmann::json evidence = {{"units", e.units},
                             {"rows", e.rows},
                             {"holdings", e.holdings},
                             {"sum", e.sum},
                             {"top", e.top},
                             {"missing", e.missing},
                             {"negative_units", e.negative_units}};
  evidence["recomputed"] = e.has_statistic ? nlohmann::json(e.statistic) : nlohmann::json();
  if (!e.top_holdings.empty()) evidence["top_holdings"] = e.top_holdings;
  return evidence;
}

nlohmann::json CellToJson(const CellReport& cell) {
  nlohmann::json key = nlohmann::json::object();
  for (const auto& [dim, value] : cell.key) key[dim] = value;
  nlohmann::json rules = nlohmann::json::array();
  for (const auto& f : cell.rules) rules.push_back(FindingToJson(f));
  nlohmann::json out = {{"key", key},
                        {"value", ValueToJson(cell.value)},
                        {"verdict", std::string(VerdictName(cell.verdict))},
                        {"rules", rules}};
  out["evidence"] = cell.has_evidence ? EvidenceToJson(cell.evidence) : nlohmann::json();
  return out;
}

nlohmann::json FileToJson(const FileReport& file) {
  nlohmann::json reasons = nlohmann::json::array();
  for (const auto& f : file.reasons) reasons.push_back(FindingToJson(f));
  nlohmann::json cells = nlohmann::json::array();
  for (const auto& c : file.cells) cells.push_back(CellToJson(c));
  nlohmann::json out = {{"path", file.path},
                        {"sha256", file.sha256},
                        {"verdict", std::string(VerdictName(file.verdict))},
                        {"verified", file.verified},
                        {"reasons", reasons},
                        {"cells", cells}};
  if (!file.spec.empty()) out["spec"] = file.spec;
  if (!file.statistic.empty()) out["statistic"] = file.statistic;
  if (file.mitigation.has_value()) {
    out["mitigation"] = {{"method", file.mitigation->method},
                         {"source", file.mitigation->source},
                         {"actions", file.mitigation->actions}};
  }
  return out;
}

std::string KeyText(const CellReport& cell) {
  std::string out;
  for (const auto& [dim, value] : cell.key) absl::StrAppend(&out, out.empty() ? "" : " ", dim, "=", value);
  return out.empty() ? "(whole table)" : out;
}

std::string RulesText(const std::vector<Finding>& rules) {
  std::string out;
  for (const auto& f : rules) {
    absl::StrAppend(&out, out.empty() ? "" : "; ", f.rule, " ", VerdictName(f.verdict), " (", f.detail, ")");
  }
  return out;
}

}  // namespace

absl::string_view VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kPass: return "pass";
    case Verdict::kReview: return "review";
    case Verdict::kFail: return "fail";
  }
  return "fail";
}

void FileReport::Finish() {
  verdict = Verdict::kPass;
  for (const auto& f : reasons) verdict = Worst(verdict, f.verdict);
  for (const auto& c : cells) verdict = Worst(verdict, c.verdict);
}

Verdict Report::OverallVerdict() const {
  Verdict v = Verdict::kPass;
  for (const auto& f : files) v = Worst(v, f.verdict);
  return v;
}

nlohmann::json ReportToJson(const Report& report) {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : report.files) files.push_back(FileToJson(f));
  return {{"checker", {{"name", "kura-sdc"}, {"version", kCheckerVersion}}},
          {"policy", {{"name", report.policy_name}, {"sha256", report.policy_sha256}}},
          {"verdict", std::string(VerdictName(report.OverallVerdict()))},
          {"files", files}};
}

std::string FormatReportText(const Report& report, size_t max_cells) {
  std::string out = absl::StrCat("kura-sdc ", kCheckerVersion, "  policy ", report.policy_name,
                                 " (sha256 ", report.policy_sha256.substr(0, 16), "...)\n");
  for (const auto& file : report.files) {
    size_t counts[3] = {0, 0, 0};
    for (const auto& c : file.cells) ++counts[static_cast<int>(c.verdict)];
    absl::StrAppend(&out, "\n", file.path, ": ", absl::AsciiStrToUpper(VerdictName(file.verdict)),
                    file.verified ? "  (verified against the schema" : "  (NOT verified: no table spec",
                    file.statistic.empty() ? "" : absl::StrCat(", ", file.statistic), ")\n");
    if (!file.cells.empty()) {
      absl::StrAppendFormat(&out, "  cells: %d pass, %d review, %d fail\n", counts[0], counts[1], counts[2]);
    }
    if (file.mitigation.has_value()) {
      absl::StrAppend(&out, "  mitigation: ", file.mitigation->method, " of ", file.mitigation->source, "\n");
      for (const auto& a : file.mitigation->actions) absl::StrAppend(&out, "    - ", a, "\n");
    }
    for (const auto& r : file.reasons) {
      absl::StrAppend(&out, "  ", r.verdict == Verdict::kFail ? "!! " : "?  ", r.rule, " ",
                      VerdictName(r.verdict), ": ", r.detail, "\n");
    }
    size_t shown = 0;
    for (const auto& c : file.cells) {
      if (c.verdict == Verdict::kPass) continue;
      if (shown++ == max_cells) {
        absl::StrAppend(&out, "  ... more cells in the JSON report (--format json)\n");
        break;
      }
      absl::StrAppend(&out, "  ", c.verdict == Verdict::kFail ? "!! FAIL   " : "?  REVIEW ", KeyText(c),
                      "  value=", c.value.value_or("-"), "  units=", c.evidence.units, "\n      ",
                      RulesText(c.rules), "\n");
    }
  }
  absl::StrAppend(&out, "\noverall: ", absl::AsciiStrToUpper(VerdictName(report.OverallVerdict())),
                  " (exit ", ExitCodeFor(report), ")\n");
  return out;
}

int ExitCodeFor(const Report& report) { return static_cast<int>(report.OverallVerdict()); }

}  // namespace kura::disclosure
