#pragma once

// The disclosure report: per file and per cell a verdict, the rules that fired, and the evidence.
// The same report is what reviewers see and what a release manifest carries; its JSON shape is
// documented in docs/disclosure-report.md.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"
#include "disclosure/recompute.h"
#include "nlohmann/json.hpp"

namespace kura::disclosure {

inline constexpr char kCheckerVersion[] = "0.1.0";

enum class Verdict { kPass = 0, kReview = 1, kFail = 2 };

absl::string_view VerdictName(Verdict verdict);
inline Verdict Worst(Verdict a, Verdict b) { return a > b ? a : b; }

// One rule (cell level) or check (file level) that fired.
struct Finding {
  std::string rule;
  Verdict verdict = Verdict::kPass;
  std::string detail;
};

struct CellReport {
  std::vector<std::pair<std::string, std::string>> key;  // (dimension, value)
  std::optional<std::string> value;  // As submitted; nullopt when the file does not give it.
  Verdict verdict = Verdict::kPass;
  std::vector<Finding> rules;
  bool has_evidence = false;  // False for a file checked without a spec.
  CellEvidence evidence;
};

struct MitigationReport {
  std::string method;                // "round" or "suppress"
  std::string source;                // The file the mitigated table was made from.
  std::vector<std::string> actions;  // One line per changed cell, and notes.
};

struct FileReport {
  std::string path;
  std::string sha256;
  Verdict verdict = Verdict::kPass;
  bool verified = false;  // Recomputed from the schema under a table spec.
  std::string spec;       // The spec's path, when there is one.
  std::string statistic;
  std::vector<Finding> reasons;  // File-level findings.
  std::vector<CellReport> cells;
  std::optional<MitigationReport> mitigation;

  // Folds the reasons' and cells' verdicts into `verdict`.
  void Finish();
};

struct Report {
  std::string policy_name;
  std::string policy_sha256;
  std::vector<FileReport> files;

  Verdict OverallVerdict() const;
};

// The JSON report as text (two-space indentation, keys in a fixed order, a final newline).
std::string FormatReportJson(const Report& report);

// The same as a document.
nlohmann::json ReportToJson(const Report& report);

// A readable summary: one block per file, failing and review cells listed with their rules.
// At most `max_cells` cells are listed per file.
std::string FormatReportText(const Report& report, size_t max_cells = 50);

// 0 when everything passes, 1 when something needs review, 2 when something failed.
int ExitCodeFor(const Report& report);

}  // namespace kura::disclosure
