#include "disclosure/report.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "disclosure/json_writer.h"
#include "disclosure/number.h"

namespace kura::disclosure {
namespace {

void WriteFinding(JsonWriter& w, const Finding& f) {
  w.BeginObject();
  w.Key("rule"), w.Value(f.rule);
  w.Key("verdict"), w.Value(VerdictName(f.verdict));
  w.Key("detail"), w.Value(f.detail);
  w.EndObject();
}

void WriteNumbers(JsonWriter& w, const std::vector<double>& values) {
  w.BeginArray();
  for (double v : values) w.Value(v);
  w.EndArray();
}

void WriteValue(JsonWriter& w, const std::optional<std::string>& value) {
  double number = 0;
  if (!value.has_value()) {
    w.Null();
  } else if (ParseNumber(*value, &number)) {
    w.Value(number);
  } else {
    w.Value(*value);
  }
}

void WriteEvidence(JsonWriter& w, const CellEvidence& e) {
  w.BeginObject();
  w.Key("units"), w.Value(e.units);
  w.Key("rows"), w.Value(e.rows);
  w.Key("holdings"), w.Value(e.holdings);
  w.Key("sum"), w.Value(e.sum);
  w.Key("top"), WriteNumbers(w, e.top);
  w.Key("recomputed");
  if (e.has_statistic) {
    w.Value(e.statistic);
  } else {
    w.Null();
  }
  w.Key("missing"), w.Value(e.missing);
  w.Key("negative_units"), w.Value(e.negative_units);
  if (!e.top_holdings.empty()) w.Key("top_holdings"), WriteNumbers(w, e.top_holdings);
  w.EndObject();
}

void WriteCell(JsonWriter& w, const CellReport& cell) {
  w.BeginObject();
  w.Key("key");
  w.BeginObject();
  for (const auto& [dim, value] : cell.key) w.Key(dim), w.Value(value);
  w.EndObject();
  w.Key("value"), WriteValue(w, cell.value);
  w.Key("verdict"), w.Value(VerdictName(cell.verdict));
  w.Key("rules");
  w.BeginArray();
  for (const auto& f : cell.rules) WriteFinding(w, f);
  w.EndArray();
  w.Key("evidence");
  if (cell.has_evidence) {
    WriteEvidence(w, cell.evidence);
  } else {
    w.Null();
  }
  w.EndObject();
}

void WriteFile(JsonWriter& w, const FileReport& file) {
  w.BeginObject();
  w.Key("path"), w.Value(file.path);
  w.Key("sha256"), w.Value(file.sha256);
  w.Key("verdict"), w.Value(VerdictName(file.verdict));
  w.Key("verified"), w.Value(file.verified);
  if (!file.spec.empty()) w.Key("spec"), w.Value(file.spec);
  if (!file.statistic.empty()) w.Key("statistic"), w.Value(file.statistic);
  w.Key("reasons");
  w.BeginArray();
  for (const auto& f : file.reasons) WriteFinding(w, f);
  w.EndArray();
  if (file.mitigation.has_value()) {
    w.Key("mitigation");
    w.BeginObject();
    w.Key("method"), w.Value(file.mitigation->method);
    w.Key("source"), w.Value(file.mitigation->source);
    w.Key("actions");
    w.BeginArray();
    for (const auto& a : file.mitigation->actions) w.Value(a);
    w.EndArray();
    w.EndObject();
  }
  w.Key("cells");
  w.BeginArray();
  for (const auto& c : file.cells) WriteCell(w, c);
  w.EndArray();
  w.EndObject();
}

std::string KeyText(const CellReport& cell) {
  std::string out;
  for (const auto& [dim, value] : cell.key)
    absl::StrAppend(&out, out.empty() ? "" : " ", dim, "=", value);
  return out.empty() ? "(whole table)" : out;
}

std::string RulesText(const std::vector<Finding>& rules) {
  std::string out;
  for (const auto& f : rules) {
    absl::StrAppend(&out, out.empty() ? "" : "; ", f.rule, " ", VerdictName(f.verdict), " (",
                    f.detail, ")");
  }
  return out;
}

}  // namespace

absl::string_view VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kPass:
      return "pass";
    case Verdict::kReview:
      return "review";
    case Verdict::kFail:
      return "fail";
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

std::string FormatReportJson(const Report& report) {
  JsonWriter w;
  w.BeginObject();
  w.Key("checker");
  w.BeginObject();
  w.Key("name"), w.Value("kura-sdc");
  w.Key("version"), w.Value(kCheckerVersion);
  w.EndObject();
  w.Key("policy");
  w.BeginObject();
  w.Key("name"), w.Value(report.policy_name);
  w.Key("sha256"), w.Value(report.policy_sha256);
  w.EndObject();
  w.Key("verdict"), w.Value(VerdictName(report.OverallVerdict()));
  w.Key("files");
  w.BeginArray();
  for (const auto& f : report.files) WriteFile(w, f);
  w.EndArray();
  w.EndObject();
  std::string out = w.Take();
  out.push_back('\n');
  return out;
}

nlohmann::json ReportToJson(const Report& report) {
  // One writer is the source of truth for the format; this is its parse.
  return nlohmann::json::parse(FormatReportJson(report));
}

std::string FormatReportText(const Report& report, size_t max_cells) {
  std::string out = absl::StrCat("kura-sdc ", kCheckerVersion, "  policy ", report.policy_name,
                                 " (sha256 ", report.policy_sha256.substr(0, 16), "...)\n");
  for (const auto& file : report.files) {
    size_t counts[3] = {0, 0, 0};
    for (const auto& c : file.cells) ++counts[static_cast<int>(c.verdict)];
    absl::StrAppend(
        &out, "\n", file.path, ": ", absl::AsciiStrToUpper(VerdictName(file.verdict)),
        file.verified ? "  (verified against the schema" : "  (NOT verified: no table spec",
        file.statistic.empty() ? "" : absl::StrCat(", ", file.statistic), ")\n");
    if (!file.cells.empty()) {
      absl::StrAppendFormat(&out, "  cells: %d pass, %d review, %d fail\n", counts[0], counts[1],
                            counts[2]);
    }
    if (file.mitigation.has_value()) {
      absl::StrAppend(&out, "  mitigation: ", file.mitigation->method, " of ",
                      file.mitigation->source, "\n");
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
      absl::StrAppend(&out, "  ", c.verdict == Verdict::kFail ? "!! FAIL   " : "?  REVIEW ",
                      KeyText(c), "  value=", c.value.value_or("-"), "  units=", c.evidence.units,
                      "\n      ", RulesText(c.rules), "\n");
    }
  }
  absl::StrAppend(&out, "\noverall: ", absl::AsciiStrToUpper(VerdictName(report.OverallVerdict())),
                  " (exit ", ExitCodeFor(report), ")\n");
  return out;
}

int ExitCodeFor(const Report& report) { return static_cast<int>(report.OverallVerdict()); }

}  // namespace kura::disclosure
