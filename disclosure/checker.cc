#include "disclosure/checker.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/crypto.h"
#include "common/status.h"
#include "disclosure/csv_reader.h"
#include "disclosure/file_checks.h"
#include "disclosure/json_util.h"
#include "disclosure/number.h"
#include "disclosure/recompute.h"
#include "disclosure/rules.h"
#include "disclosure/submitted_table.h"

namespace kura::disclosure {
namespace {

// A file as checked, with what mitigation needs.
struct CheckedFile {
  FileReport report;
  std::optional<CsvDocument> document;
  char delimiter = ',';
  std::vector<CellLocation> locations;  // Parallel to report.cells.
  bool frequency = false;
  absl::flat_hash_set<std::string> candidates;  // Possible identifier values.
};

std::string BaseName(absl::string_view path) {
  const size_t slash = path.rfind('/');
  return std::string(slash == absl::string_view::npos ? path : path.substr(slash + 1));
}

Finding Reason(const char* rule, Verdict verdict, std::string detail) {
  return Finding{rule, verdict, std::move(detail)};
}

Verdict Fold(const std::vector<Finding>& findings) {
  Verdict v = Verdict::kPass;
  for (const auto& f : findings) v = Worst(v, f.verdict);
  return v;
}

// Cells of a frequency table that hold every unit of their row (class disclosure): the row's
// only non-zero cell among at least two that are not structural zeros. The row's cells are the
// recomputed ones and the submitted ones, joined as keys with \x1f.
absl::flat_hash_set<std::string> HundredPercentCells(const RecomputedTable& table,
                                                     const SubmittedTable& submitted,
                                                     const TableSpec& spec) {
  absl::flat_hash_set<std::string> out;
  if (spec.statistic != Statistic::kCount || spec.cols.empty()) return out;
  std::map<std::vector<std::string>, int64_t> units;  // Every cell key -> distinct units.
  for (const auto& cell : table.cells) units[cell.key] = cell.units;
  for (const auto& cell : submitted.cells) units.emplace(cell.key, 0);
  struct Row {
    int cells = 0;
    int non_zero = 0;
    const std::vector<std::string>* last = nullptr;
  };
  std::map<std::vector<std::string>, Row> rows;
  for (const auto& [key, n] : units) {
    if (spec.IsStructuralZero(key)) continue;
    Row& row = rows[std::vector<std::string>(key.begin(),
                                             key.begin() + static_cast<long>(spec.rows.size()))];
    ++row.cells;
    if (n > 0) ++row.non_zero, row.last = &key;
  }
  for (const auto& [unused, row] : rows) {
    if (row.cells >= 2 && row.non_zero == 1) out.insert(absl::StrJoin(*row.last, "\x1f"));
  }
  return out;
}

// Judges one cell; `value` is what the submitted table gives for it (nullopt: nothing, as for
// the cells of a regression).
CellReport JudgeSubmitted(const std::vector<std::string>& key,
                          const std::optional<std::string>& value, const CellEvidence* recomputed,
                          bool hundred_percent, bool has_holdings, const TableSpec& spec,
                          const Policy& policy) {
  CellReport cell;
  const std::vector<std::string> dims = spec.Dimensions();
  for (size_t d = 0; d < dims.size(); ++d) cell.key.emplace_back(dims[d], key[d]);
  cell.value = value;
  cell.has_evidence = true;
  if (recomputed != nullptr) {
    cell.evidence = *recomputed;
  } else {
    cell.evidence.key = key;
    cell.evidence.has_statistic = spec.statistic == Statistic::kCount;
  }
  SubmittedValue submitted;
  if (value.has_value()) submitted = SubmittedValue{true, *value, IsSuppressedText(*value)};
  CellContext context{has_holdings, hundred_percent, recomputed != nullptr && recomputed->rows > 0};
  cell.rules = JudgeCell(cell.evidence, submitted, context, spec, policy);
  cell.verdict = Fold(cell.rules);
  return cell;
}

// Judges every cell of a submitted table against the recomputed one.
void JudgeSubmittedCells(const SubmittedTable& submitted, const RecomputedTable& recomputed,
                         const TableSpec& spec, const Policy& policy, CheckedFile& file) {
  absl::flat_hash_map<std::string, const CellEvidence*> index;
  for (const auto& e : recomputed.cells) index[absl::StrJoin(e.key, "\x1f")] = &e;
  const auto hundred = HundredPercentCells(recomputed, submitted, spec);
  size_t matched = 0;
  for (const SubmittedCell& s : submitted.cells) {
    const std::string joined = absl::StrJoin(s.key, "\x1f");
    auto it = index.find(joined);
    const CellEvidence* e = it == index.end() ? nullptr : it->second;
    if (e != nullptr && e->rows > 0) ++matched;
    // A label the data never show (a cell of no records) is compared with the schema's
    // identifiers, so that a zero cell cannot carry a patient's id out as its label.
    if (e == nullptr) {
      for (const auto& label : s.key) file.candidates.insert(label);
    }
    file.report.cells.push_back(JudgeSubmitted(s.key, submitted.ValueOf(s), e,
                                               hundred.contains(joined), recomputed.has_holdings,
                                               spec, policy));
    file.locations.push_back(CellLocation{s.row, s.column});
  }
  size_t with_rows = 0;
  for (const auto& e : recomputed.cells) with_rows += e.rows > 0 ? 1 : 0;
  if (matched < with_rows) {
    file.report.reasons.push_back(
        Reason("absent_cells", Verdict::kPass,
               absl::StrCat(
                   with_rows - matched,
                   " cells with records are not in the submitted table (treated as suppressed)")));
  }
}

absl::Status CheckSpecifiedTable(const Schema& schema, const Policy& policy, const TableSpec& spec,
                                 absl::string_view content, const CheckOptions& options,
                                 CheckedFile& file) {
  const SchemaTable* table = schema.FindTable(spec.table);
  if (spec.schema != schema.name || table == nullptr) return ValidateTableSpec(spec, schema, {});
  KURA_ASSIGN_OR_RETURN(std::vector<std::string> header, ReadCsvHeader(table->path));
  KURA_RETURN_IF_ERROR(ValidateTableSpec(spec, schema, header));
  KURA_ASSIGN_OR_RETURN(CsvDocument doc, ParseCsv(content, file.report.path, file.delimiter));
  for (auto& f : CheckTableContent(doc, schema, policy))
    file.report.reasons.push_back(std::move(f));
  RecomputeOptions recompute_options;
  recompute_options.threads = options.threads;
  recompute_options.top_contributions =
      std::max({5, policy.dominance_n, policy.holding_dominance_n});
  KURA_ASSIGN_OR_RETURN(RecomputedTable recomputed, Recompute(schema, spec, recompute_options));
  file.report.verified = true;
  file.report.spec = spec.source;
  file.report.statistic = std::string(StatisticName(spec.statistic));
  file.frequency = spec.statistic == Statistic::kCount;
  if (spec.statistic == Statistic::kRegression) {
    // The coefficients are not recomputed; each cell's units feed the dof rule.
    for (const auto& e : recomputed.cells) {
      file.report.cells.push_back(
          JudgeSubmitted(e.key, std::nullopt, &e, false, recomputed.has_holdings, spec, policy));
    }
    file.document = std::move(doc);
    return absl::OkStatus();
  }
  KURA_ASSIGN_OR_RETURN(SubmittedTable submitted,
                        InterpretSubmittedTable(std::move(doc), file.report.path, spec));
  JudgeSubmittedCells(submitted, recomputed, spec, policy, file);
  file.document = std::move(submitted.document);
  return absl::OkStatus();
}

bool IsInteger(absl::string_view field, double* v) {
  // Bounded first: converting a double beyond int64's range is undefined.
  return ParseNumber(field, v) && std::fabs(*v) < 9e15 && *v == std::floor(*v);
}

bool IsSchemaColumnName(const Schema& schema, const std::string& name) {
  for (const auto& t : schema.tables) {
    for (const auto& c : t.columns) {
      if (c.name == name) return true;
    }
  }
  return false;
}

std::vector<Finding> JudgeUnverifiedCount(double v, const Policy& policy) {
  std::vector<Finding> rules;
  if (v == 0) {
    if (policy.zeros != RuleAction::kAllow) {
      rules.push_back({"zeros",
                       policy.zeros == RuleAction::kFail ? Verdict::kFail : Verdict::kReview,
                       "zero cell"});
    }
    return rules;
  }
  if (v < policy.threshold) {
    rules.push_back({"threshold", Verdict::kFail,
                     absl::StrCat(FormatNumber(v), " < ", policy.threshold, " (count as given)")});
  }
  if (policy.unverified_count_threshold > 0 &&
      v < static_cast<double>(policy.unverified_count_threshold)) {
    rules.push_back(
        {"threshold", Verdict::kFail,
         absl::StrCat(FormatNumber(v), " < ", policy.unverified_count_threshold,
                      ", the floor for counts whose units (patients or records) are unknown")});
  }
  return rules;
}

// A frequency CSV without a spec: its count columns (integers, not named like a schema column)
// are checked as given for threshold and zeros.
void CheckUnspecifiedTable(const Schema& schema, const Policy& policy, CheckedFile& file) {
  const CsvDocument& doc = *file.document;
  std::vector<size_t> counts, labels;
  bool magnitude = false;
  for (size_t c = 0; c < doc.header.size(); ++c) {
    bool integers = !doc.rows.empty(), numbers = !doc.rows.empty();
    for (const auto& row : doc.rows) {
      double v = 0;
      if (IsSuppressedText(row[c])) continue;
      if (!ParseNumber(row[c], &v)) integers = numbers = false;
      if (!IsInteger(row[c], &v) || v < 0) integers = false;
    }
    const bool count = integers && !IsSchemaColumnName(schema, doc.header[c]);
    if (count)
      counts.push_back(c);
    else
      labels.push_back(c);
    if (numbers && !integers) magnitude = true;
  }
  file.report.reasons.push_back(Reason(
      "unverified", Verdict::kReview,
      "no table spec: counts checked as given, not recomputed; supply the spec to verify them"));
  if (magnitude) {
    file.report.reasons.push_back(Reason(
        "unverified", Verdict::kReview,
        "non-integer values cannot be judged without a table spec; supply the underlying table"));
  }
  if (counts.empty()) {
    file.report.reasons.push_back(Reason(
        "unverified", Verdict::kReview, "no count column recognised; supply the underlying table"));
    return;
  }
  file.frequency = true;
  for (size_t r = 0; r < doc.rows.size(); ++r) {
    for (size_t c : counts) {
      CellReport cell;
      for (size_t l : labels) cell.key.emplace_back(doc.header[l], doc.rows[r][l]);
      if (counts.size() > 1) cell.key.emplace_back("column", doc.header[c]);
      cell.value = doc.rows[r][c];
      double v = 0;
      if (!IsSuppressedText(doc.rows[r][c]) && ParseNumber(doc.rows[r][c], &v))
        cell.rules = JudgeUnverifiedCount(v, policy);
      cell.verdict = Fold(cell.rules);
      file.report.cells.push_back(std::move(cell));
      file.locations.push_back(CellLocation{r, c});
    }
  }
}

absl::Status CheckUnspecified(const Schema& schema, const Policy& policy, absl::string_view content,
                              CheckedFile& file) {
  const std::string ext = FileExtension(file.report.path);
  switch (KindOf(ext)) {
    case FileKind::kTable: {
      KURA_ASSIGN_OR_RETURN(CsvDocument doc, ParseCsv(content, file.report.path, file.delimiter));
      for (auto& f : CheckTableContent(doc, schema, policy))
        file.report.reasons.push_back(std::move(f));
      CollectIdentifierCandidates(doc, &file.candidates);
      for (const auto& h : doc.header) {
        if (h.size() >= 2) file.candidates.insert(h);
      }
      file.document = std::move(doc);
      CheckUnspecifiedTable(schema, policy, file);
      return absl::OkStatus();
    }
    case FileKind::kText:
    case FileKind::kJson:
      for (auto& f : CheckTextContent(content, policy)) file.report.reasons.push_back(std::move(f));
      CollectIdentifierCandidates(content, &file.candidates);
      file.report.reasons.push_back(Reason(
          "no_spec", Verdict::kReview, "text without a table spec: supply the underlying table"));
      return absl::OkStatus();
    case FileKind::kFigure:
      file.report.reasons.push_back(Reason(
          "no_spec", Verdict::kReview, "figure without a table spec: supply the underlying table"));
      return absl::OkStatus();
    case FileKind::kOther:
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::StatusOr<const TableSpec*> SpecFor(const std::string& path,
                                         const std::vector<TableSpec>& specs) {
  const TableSpec* found = nullptr;
  for (const auto& spec : specs) {
    if (BaseName(spec.output) != BaseName(path)) continue;
    if (found != nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(spec.source, ": describes ", BaseName(path),
                                                     " as ", found->source, " already does"));
    }
    found = &spec;
  }
  return found;
}

absl::StatusOr<CheckedFile> CheckOneFile(const Schema& schema, const Policy& policy,
                                         const std::vector<TableSpec>& specs,
                                         const std::string& path, const CheckOptions& options) {
  CheckedFile file;
  file.report.path = path;
  KURA_ASSIGN_OR_RETURN(std::string content, ReadFile(path));
  file.report.sha256 = Sha256Hex(content);
  file.delimiter = FileExtension(path) == "tsv" ? '\t' : ',';
  file.report.reasons = CheckTypeAndSize(path, content, policy);
  KURA_ASSIGN_OR_RETURN(const TableSpec* spec, SpecFor(path, specs));
  if (spec != nullptr) {
    if (KindOf(FileExtension(path)) != FileKind::kTable) {
      return absl::InvalidArgumentError(
          absl::StrCat(spec->source, ".output: ", path, " is not a CSV or TSV table"));
    }
    KURA_RETURN_IF_ERROR(CheckSpecifiedTable(schema, policy, *spec, content, options, file));
  } else {
    KURA_RETURN_IF_ERROR(CheckUnspecified(schema, policy, content, file));
  }
  return file;
}

absl::StatusOr<std::vector<CheckedFile>> CheckAll(const Schema& schema, const Policy& policy,
                                                  const std::vector<TableSpec>& specs,
                                                  const std::vector<std::string>& files,
                                                  const CheckOptions& options) {
  for (const auto& spec : specs) {
    const bool used = std::any_of(files.begin(), files.end(), [&](const std::string& f) {
      return BaseName(f) == BaseName(spec.output);
    });
    if (!used) {
      return absl::InvalidArgumentError(absl::StrCat(spec.source, ".output: \"", spec.output,
                                                     "\" is not among the files to check"));
    }
  }
  std::vector<CheckedFile> checked;
  absl::flat_hash_set<std::string> candidates;
  for (const auto& path : files) {
    KURA_ASSIGN_OR_RETURN(CheckedFile file, CheckOneFile(schema, policy, specs, path, options));
    candidates.insert(file.candidates.begin(), file.candidates.end());
    checked.push_back(std::move(file));
  }
  KURA_ASSIGN_OR_RETURN(auto identifiers,
                        FindIdentifierValues(schema, candidates, options.threads));
  for (auto& file : checked) {
    for (const auto& value : file.candidates) {
      if (identifiers.contains(value)) {
        file.report.reasons.push_back(
            Reason("identifier_value", Verdict::kFail,
                   absl::StrCat("\"", value, "\" is a unit or holding identifier of schema ",
                                schema.name)));
      }
    }
    file.report.Finish();
  }
  return checked;
}

Report MakeReport(const Policy& policy, std::vector<CheckedFile>& files) {
  Report report;
  report.policy_name = policy.name;
  report.policy_sha256 = PolicySha256(policy);
  for (auto& f : files) report.files.push_back(std::move(f.report));
  return report;
}

}  // namespace

int DefaultThreads() {
  const unsigned cores = std::thread::hardware_concurrency();
  return static_cast<int>(std::clamp(cores, 1u, 8u));
}

absl::StatusOr<Report> CheckFiles(const Schema& schema, const Policy& policy,
                                  const std::vector<TableSpec>& specs,
                                  const std::vector<std::string>& files,
                                  const CheckOptions& options) {
  KURA_ASSIGN_OR_RETURN(std::vector<CheckedFile> checked,
                        CheckAll(schema, policy, specs, files, options));
  return MakeReport(policy, checked);
}

absl::StatusOr<Report> CheckAndMitigate(const Schema& schema, const Policy& policy,
                                        const std::vector<TableSpec>& specs,
                                        const std::vector<std::string>& files,
                                        MitigationMethod method, const std::string& out_dir,
                                        const CheckOptions& options) {
  KURA_ASSIGN_OR_RETURN(std::vector<CheckedFile> checked,
                        CheckAll(schema, policy, specs, files, options));
  if (method == MitigationMethod::kNone) return MakeReport(policy, checked);
  if (::mkdir(out_dir.c_str(), 0750) != 0 && errno != EEXIST) return ErrnoError("mkdir", out_dir);
  std::vector<std::string> next_files;
  std::map<std::string, MitigationReport> done;
  for (auto& file : checked) {
    if (!file.document.has_value() || file.report.cells.empty()) {
      next_files.push_back(file.report.path);
      continue;
    }
    MitigationReport m = MitigateDocument(*file.document, file.report, file.locations,
                                          file.frequency, method, policy);
    const std::string out = absl::StrCat(out_dir, "/", BaseName(file.report.path));
    if (out == file.report.path) {
      return absl::InvalidArgumentError(
          absl::StrCat("--out: writing ", out, " would overwrite the checked file"));
    }
    KURA_RETURN_IF_ERROR(WriteFile(out, FormatCsv(*file.document, file.delimiter)));
    done[out] = std::move(m);
    next_files.push_back(out);
  }
  KURA_ASSIGN_OR_RETURN(std::vector<CheckedFile> rechecked,
                        CheckAll(schema, policy, specs, next_files, options));
  for (auto& file : rechecked) {
    auto it = done.find(file.report.path);
    if (it != done.end()) file.report.mitigation = it->second;
  }
  return MakeReport(policy, rechecked);
}

absl::StatusOr<Report> RunCheckCommand(const CheckCommand& command) {
  if (command.files.empty()) return absl::InvalidArgumentError("no files to check");
  KURA_ASSIGN_OR_RETURN(Schema schema, LoadSchema(command.schema_dir));
  KURA_ASSIGN_OR_RETURN(Policy policy, LoadPolicy(command.policy));
  std::vector<TableSpec> specs;
  for (const auto& path : command.specs) {
    KURA_ASSIGN_OR_RETURN(TableSpec spec, LoadTableSpec(path));
    specs.push_back(std::move(spec));
  }
  if (command.mitigation != MitigationMethod::kNone && command.out_dir.empty()) {
    return absl::InvalidArgumentError("--mitigate needs --out DIR for the mitigated tables");
  }
  return CheckAndMitigate(schema, policy, specs, command.files, command.mitigation, command.out_dir,
                          command.options);
}

}  // namespace kura::disclosure
