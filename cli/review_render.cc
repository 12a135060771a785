#include "cli/review_render.h"

#include <algorithm>
#include <map>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "cli/terminal_text.h"

namespace kura::cli {
namespace {

using kura::v1::ExportFile;
using kura::v1::ExportRequest;

// Short for Neutralize on one line of text from the gateway or a file.
std::string Safe(absl::string_view text) { return Neutralize(text, TextKind::kLine); }

// Several lines of text, each after the first indented by `indent`.
std::string SafeBlock(absl::string_view text, absl::string_view indent) {
  std::string safe = Neutralize(absl::StripTrailingAsciiWhitespace(text), TextKind::kBlock);
  return absl::StrReplaceAll(safe, {{"\n", absl::StrCat("\n", indent)}});
}

std::string Time(int64_t unix_seconds) {
  if (unix_seconds <= 0) return "-";
  return absl::FormatTime("%Y-%m-%d %H:%M UTC", absl::FromUnixSeconds(unix_seconds),
                          absl::UTCTimeZone());
}

std::string JsonText(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "null";
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string Extension(absl::string_view path) {
  absl::string_view base = path.substr(path.rfind('/') + 1);
  size_t dot = base.rfind('.');
  return dot == absl::string_view::npos ? "" : absl::AsciiStrToLower(base.substr(dot + 1));
}

// "prefecture=31 age_band=85+ sex=F"
std::string KeyLine(const nlohmann::json& key) {
  if (!key.is_object()) return Safe(JsonText(key));
  std::vector<std::string> parts;
  for (const auto& [dimension, value] : key.items()) {
    parts.push_back(absl::StrCat(Safe(dimension), "=", Safe(JsonText(value))));
  }
  return absl::StrJoin(parts, " ");
}

void AppendRules(std::string& out, const nlohmann::json& rules, absl::string_view indent) {
  if (!rules.is_array()) return;
  for (const nlohmann::json& rule : rules) {
    if (!rule.is_object()) continue;
    absl::StrAppend(&out, indent, Safe(rule.value("rule", "?")), " ",
                    Safe(rule.value("verdict", "?")), ": ", Safe(rule.value("detail", "")), "\n");
  }
}

void AppendCell(std::string& out, const nlohmann::json& cell) {
  const std::string verdict = cell.value("verdict", "");
  const char* label = verdict == "fail"     ? "!! FAIL  "
                      : verdict == "review" ? "?  REVIEW"
                                            : "   PASS  ";
  std::string units = "?";
  if (cell.contains("evidence") && cell["evidence"].is_object() &&
      cell["evidence"].contains("units")) {
    units = Safe(JsonText(cell["evidence"]["units"]));
  }
  absl::StrAppend(&out, "    ", label, "  ", KeyLine(cell.value("key", nlohmann::json())),
                  "  value ", Safe(JsonText(cell.value("value", nlohmann::json()))),
                  "  distinct units ", units, "\n");
  AppendRules(out, cell.value("rules", nlohmann::json()), "                 ");
}

void AppendFileReport(std::string& out, const nlohmann::json& file, bool all_cells) {
  absl::StrAppend(&out, "  ", Safe(file.value("path", "?")), ": ", Safe(file.value("verdict", "?")),
                  file.value("verified", false) ? "  verified" : "  not verified");
  if (file.contains("spec") && file["spec"].is_string()) {
    absl::StrAppend(&out, "  spec ", Safe(file["spec"].get<std::string>()));
  }
  if (file.contains("statistic") && file["statistic"].is_string()) {
    absl::StrAppend(&out, "  statistic ", Safe(file["statistic"].get<std::string>()));
  }
  out += "\n";
  AppendRules(out, file.value("reasons", nlohmann::json()), "    ");
  const nlohmann::json cells = file.value("cells", nlohmann::json::array());
  if (!cells.is_array()) return;
  size_t flagged = 0;
  for (const nlohmann::json& cell : cells) {
    if (!cell.is_object()) continue;
    const std::string verdict = cell.value("verdict", "");
    const bool is_flagged = verdict == "fail" || verdict == "review";
    flagged += is_flagged;
    if (is_flagged || all_cells) AppendCell(out, cell);
  }
  if (!all_cells && flagged < cells.size()) {
    absl::StrAppend(&out, "    ", flagged, " of ", cells.size(),
                    " cells flagged (--all-cells lists them all)\n");
  }
}

std::string RenderText(absl::string_view bytes, bool complete, const std::string& saved_path,
                       size_t max_lines) {
  std::vector<absl::string_view> lines = absl::StrSplit(bytes, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();
  std::string out;
  const size_t shown = std::min(lines.size(), max_lines);
  for (size_t i = 0; i < shown; ++i) absl::StrAppend(&out, "    ", Safe(lines[i]), "\n");
  if (shown < lines.size()) {
    absl::StrAppend(&out, "    … ", lines.size() - shown, " more lines (saved to ",
                    Safe(saved_path), ")\n");
  } else if (!complete) {
    absl::StrAppend(&out, "    … the file goes on beyond what was read (saved to ",
                    Safe(saved_path), ")\n");
  }
  return out;
}

void AppendFileChanges(std::string& out, const kura::v1::ExportVersion* before,
                       const kura::v1::ExportVersion& now) {
  std::map<std::string, std::string> old_files;
  if (before != nullptr) {
    for (const ExportFile& f : before->files()) old_files[f.path()] = f.sha256();
  }
  std::vector<std::string> added, changed, removed;
  int unchanged = 0;
  for (const ExportFile& f : now.files()) {
    auto it = old_files.find(f.path());
    if (it == old_files.end()) {
      added.push_back(Safe(f.path()));
    } else if (it->second != f.sha256()) {
      changed.push_back(Safe(f.path()));
    } else {
      ++unchanged;
    }
    if (it != old_files.end()) old_files.erase(it);
  }
  for (const auto& [path, sha256] : old_files) removed.push_back(Safe(path));
  std::vector<std::string> parts;
  if (before == nullptr) {
    parts.push_back(absl::StrCat("files: ", absl::StrJoin(added, ", ")));
  } else {
    if (!changed.empty()) parts.push_back(absl::StrCat("changed: ", absl::StrJoin(changed, ", ")));
    if (!added.empty()) parts.push_back(absl::StrCat("new: ", absl::StrJoin(added, ", ")));
    if (!removed.empty()) parts.push_back(absl::StrCat("removed: ", absl::StrJoin(removed, ", ")));
    if (unchanged > 0) parts.push_back(absl::StrCat(unchanged, " unchanged"));
  }
  absl::StrAppend(&out, "        ", absl::StrJoin(parts, "; "), "\n");
}

}  // namespace

std::string RenderRequestLine(const ExportRequest& r) {
  // One line, as scripts grep it: "export 7 v2 ... checker: pass ... reviewers needed: 2".
  const std::string of =
      r.latest_version() > 0 ? absl::StrCat(" of ", r.latest_version()) : std::string();
  return absl::StrCat("export ", r.id(), " v", r.version(), of, "  ", Safe(r.state()), "  ",
                      Safe(r.project()), "  by ", Safe(r.author()),
                      "  checker: ", Safe(r.verdict()),
                      "  reviewers needed: ", r.required_reviewers(), "\n");
}

std::string RenderRequestHeader(const ExportRequest& r) {
  const int latest = r.latest_version() > 0 ? r.latest_version() : r.version();
  std::string out = RenderRequestLine(r);
  if (r.has_image() && !(r.image().name().empty() && r.image().digest().empty())) {
    absl::StrAppend(&out, "  image: ", Safe(r.image().name()), "  ", Safe(r.image().digest()),
                    "\n");
  } else {
    out += "  image: not reported\n";
  }
  if (r.version() < latest) {
    absl::StrAppend(&out, "  (an earlier version: the latest is v", latest, ")\n");
  }
  absl::StrAppend(&out, "justification:\n  ", SafeBlock(r.justification(), "  "), "\n");
  return out;
}

std::string RenderFileList(const ExportRequest& r) {
  std::string out = "files:\n";
  for (const ExportFile& f : r.files()) {
    absl::StrAppend(&out, "  ", Pad(Safe(f.verdict()), 6), "  ",
                    Pad(absl::StrCat(f.size()), 10, true), "  ", Safe(f.sha256().substr(0, 16)),
                    "  ", Safe(f.path()), "\n");
  }
  return out;
}

std::string RenderVersionHistory(const ExportRequest& r) {
  if (r.versions().empty()) return "";
  std::string out = "versions:\n";
  const kura::v1::ExportVersion* before = nullptr;
  for (const kura::v1::ExportVersion& v : r.versions()) {
    absl::StrAppend(&out, "  v", v.version(), "  ", Pad(Safe(v.state()), 17),
                    "  checker: ", Pad(Safe(v.verdict()), 6), "  ", Time(v.created_unix()),
                    v.version() == r.version() ? "  (shown)" : "", "\n");
    AppendFileChanges(out, before, v);
    before = &v;
  }
  return out;
}

const nlohmann::json* FindFileReport(const nlohmann::json& report, absl::string_view path) {
  if (!report.is_object() || !report.contains("files") || !report["files"].is_array()) {
    return nullptr;
  }
  const nlohmann::json* by_base_name = nullptr;
  absl::string_view base = path.substr(path.rfind('/') + 1);
  for (const nlohmann::json& file : report["files"]) {
    if (!file.is_object()) continue;
    std::string reported = file.value("path", "");
    if (reported == path) return &file;
    if (by_base_name == nullptr && reported.substr(reported.rfind('/') + 1) == base) {
      by_base_name = &file;
    }
  }
  return by_base_name;
}

std::string RenderReport(const nlohmann::json& report, bool all_cells) {
  if (!report.is_object()) return "checker's report: not readable (not JSON)\n";
  std::string out = absl::StrCat("checker's report: ", Safe(report.value("verdict", "?")));
  if (report.contains("checker") && report["checker"].is_object()) {
    absl::StrAppend(&out, "  (", Safe(report["checker"].value("name", "?")), " ",
                    Safe(report["checker"].value("version", "?")));
    if (report.contains("policy") && report["policy"].is_object()) {
      absl::StrAppend(&out, ", policy ", Safe(report["policy"].value("name", "?")), " ",
                      Safe(report["policy"].value("sha256", "").substr(0, 12)));
    }
    out += ")";
  }
  out += "\n";
  if (report.contains("files") && report["files"].is_array()) {
    for (const nlohmann::json& file : report["files"]) {
      if (file.is_object()) AppendFileReport(out, file, all_cells);
    }
  }
  return out;
}

FileView ViewOf(absl::string_view path) {
  const std::string extension = Extension(path);
  if (extension == "csv" || extension == "tsv") return FileView::kTable;
  if (extension == "txt" || extension == "md" || extension == "json") return FileView::kText;
  return FileView::kSavedOnly;
}

std::string RenderFileContents(absl::string_view path, absl::string_view bytes, bool complete,
                               const nlohmann::json* file_report, const std::string& saved_path,
                               const FileLimits& limits) {
  std::string out = absl::StrCat("── ", Safe(path), " ──\n");
  const FileView view = ViewOf(path);
  if (view == FileView::kTable) {
    Table table = ParseDelimited(bytes, Extension(path) == "tsv" ? '\t' : ',');
    nlohmann::json cells = file_report != nullptr && file_report->contains("cells")
                               ? (*file_report)["cells"]
                               : nlohmann::json::array();
    out += RenderTable(table, MarkFlaggedRows(table, cells), limits.table, complete, saved_path);
  } else if (view == FileView::kText) {
    out += RenderText(bytes, complete, saved_path, limits.max_text_lines);
  }
  absl::StrAppend(&out, view == FileView::kSavedOnly ? "  " : "  whole file ",
                  "saved for viewing inside the environment: ", Safe(saved_path), "\n");
  return out;
}

std::string RenderVotesAndComments(const ExportRequest& r) {
  std::string out =
      r.votes().empty()
          ? "votes: none you may see (a reviewer sees the others' once they have voted on every "
            "file)\n"
          : "votes:\n";
  // Reviewer, file and decision in aligned columns.
  size_t widths[3] = {0, 0, 0};
  for (const kura::v1::ExportVote& v : r.votes()) {
    widths[0] = std::max(widths[0], DisplayWidth(Safe(v.reviewer())));
    widths[1] = std::max(widths[1], DisplayWidth(Safe(v.file())));
    widths[2] = std::max(widths[2], DisplayWidth(Safe(v.decision())));
  }
  for (const kura::v1::ExportVote& v : r.votes()) {
    absl::StrAppend(
        &out, "  ", Pad(Safe(v.reviewer()), widths[0]), "  ", Pad(Safe(v.file()), widths[1]), "  ",
        Pad(Safe(v.decision()), widths[2]), "  ", Time(v.time_unix()),
        v.round() > 1 ? absl::StrCat("  (revised in consolidation, round ", v.round(), ")") : "",
        "\n");
    if (!v.comment().empty()) {
      absl::StrAppend(&out, "      comment: ", SafeBlock(v.comment(), "        "), "\n");
    }
    if (!v.override_reason().empty()) {
      absl::StrAppend(&out, "      override: ", SafeBlock(v.override_reason(), "        "), "\n");
    }
  }
  if (!r.comments().empty()) out += "comments:\n";
  for (const kura::v1::ExportComment& c : r.comments()) {
    absl::StrAppend(&out, "  ", Safe(c.author()), " on ",
                    c.file().empty() ? "the request" : Safe(c.file()), ", v", c.version(), ", ",
                    Time(c.time_unix()), ":\n      ", SafeBlock(c.text(), "      "), "\n");
  }
  out += RenderStateNote(r);
  return out;
}

std::string RenderStateNote(const ExportRequest& r) {
  if (r.state() != "consolidation") return "";
  return absl::StrCat(
      "consolidation: the required reviewers have all voted and disagree. Each of them may "
      "vote again on a file (kura review vote ",
      r.id(),
      " FILE approve|request_changes|reject) until they agree; a reviewer's latest vote on a "
      "file is the one that counts.\n");
}

std::string RenderVoteOutcome(const ExportRequest& response, absl::string_view file,
                              absl::string_view reviewer) {
  const kura::v1::ExportVote* latest = nullptr;
  for (const kura::v1::ExportVote& v : response.votes()) {
    if (v.file() != file || (!reviewer.empty() && v.reviewer() != reviewer)) continue;
    if (latest == nullptr || v.round() > latest->round() ||
        (v.round() == latest->round() && v.time_unix() > latest->time_unix())) {
      latest = &v;
    }
  }
  std::string out;
  if (latest != nullptr && latest->round() > 1) {
    absl::StrAppend(&out, "your vote on ", Safe(file),
                    " revises your earlier one (consolidation round ", latest->round(),
                    "); the earlier vote stays on record\n");
  }
  out += RenderStateNote(response);
  return out;
}

nlohmann::json ExportRequestJson(const ExportRequest& r, bool with_report) {
  const auto files_json = [](const auto& files) {
    nlohmann::json out = nlohmann::json::array();
    for (const ExportFile& f : files) {
      out.push_back({{"path", f.path()},
                     {"size", f.size()},
                     {"sha256", f.sha256()},
                     {"verdict", f.verdict()}});
    }
    return out;
  };
  nlohmann::json votes = nlohmann::json::array();
  for (const auto& v : r.votes()) {
    votes.push_back({{"reviewer", v.reviewer()},
                     {"file", v.file()},
                     {"decision", v.decision()},
                     {"comment", v.comment()},
                     {"override_reason", v.override_reason()},
                     {"time_unix", v.time_unix()},
                     {"round", v.round()}});
  }
  nlohmann::json comments = nlohmann::json::array();
  for (const auto& c : r.comments()) {
    comments.push_back({{"author", c.author()},
                        {"file", c.file()},
                        {"text", c.text()},
                        {"time_unix", c.time_unix()},
                        {"version", c.version()}});
  }
  nlohmann::json versions = nlohmann::json::array();
  for (const auto& v : r.versions()) {
    versions.push_back({{"version", v.version()},
                        {"state", v.state()},
                        {"verdict", v.verdict()},
                        {"snapshot_id", v.snapshot_id()},
                        {"files", files_json(v.files())},
                        {"justification", v.justification()},
                        {"created_unix", v.created_unix()},
                        {"updated_unix", v.updated_unix()}});
  }
  nlohmann::json j = {{"id", r.id()},
                      {"version", r.version()},
                      {"latest_version", r.latest_version()},
                      {"project", r.project()},
                      {"author", r.author()},
                      {"state", r.state()},
                      {"verdict", r.verdict()},
                      {"files", files_json(r.files())},
                      {"votes", votes},
                      {"comments", comments},
                      {"versions", versions},
                      {"image",
                       {{"name", r.image().name()},
                        {"digest", r.image().digest()},
                        {"components", std::vector<std::string>(r.image().components().begin(),
                                                                r.image().components().end())}}},
                      {"justification", r.justification()},
                      {"required_reviewers", r.required_reviewers()}};
  if (with_report) j["report"] = nlohmann::json::parse(r.report_json(), nullptr, false);
  return j;
}

}  // namespace kura::cli
