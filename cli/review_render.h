#pragma once

// An export request as its reviewers and its author read it in a terminal (`kura review
// show`, `kura export show`): header, justification, version history, the checker's report
// with its flagged cells, each file's contents, votes and comments. Pure functions from the
// gateway's ExportRequest, the parsed report and file bytes to text; every string that came
// from the gateway or a file goes through Neutralize.

#include <string>

#include "absl/strings/string_view.h"
#include "cli/table_render.h"
#include "kura/v1/gateway.pb.h"
#include "nlohmann/json.hpp"

namespace kura::cli {

// The request's line (RenderRequestLine), the workspace image's name and digest, a note when
// the version shown is not the latest, then the justification.
std::string RenderRequestHeader(const kura::v1::ExportRequest& request);

// One line: id, version shown ("v2 of 3"), state, project, author, checker verdict, reviewers
// needed.
std::string RenderRequestLine(const kura::v1::ExportRequest& request);

// The files of the version shown: checker verdict, size, SHA-256 prefix, path.
std::string RenderFileList(const kura::v1::ExportRequest& request);

// Each version oldest first: number, state, checker verdict, time, and which files are new,
// changed or removed against the version before it (by SHA-256). Empty without versions.
std::string RenderVersionHistory(const kura::v1::ExportRequest& request);

// The report's entry for `path`: exact path first, else the same base name; null when none.
const nlohmann::json* FindFileReport(const nlohmann::json& report, absl::string_view path);

// The checker's report, per file: verdict, verified or not, spec, statistic, file-level
// reasons, and each flagged cell ("!! FAIL", "?  REVIEW") with key, value, distinct units and
// its rules' details; `all_cells` adds the passing cells. Says so when the report is not JSON.
std::string RenderReport(const nlohmann::json& report, bool all_cells);

// How a file is shown inline: CSV and TSV as a table, txt, md and json as text, anything else
// only saved.
enum class FileView { kTable, kText, kSavedOnly };
FileView ViewOf(absl::string_view path);

struct FileLimits {
  TableLimits table;
  size_t max_text_lines = 200;
};

// One file's contents under a title line. `bytes` is the file (or, `complete` false, its
// start); `file_report` its report entry or null; `saved_path` where the whole file was
// saved, named in every case and alone for a file not shown inline.
std::string RenderFileContents(absl::string_view path, absl::string_view bytes, bool complete,
                               const nlohmann::json* file_report, const std::string& saved_path,
                               const FileLimits& limits);

// Votes and comments the caller may see (reviewer, file, decision, "(revised in
// consolidation)" for a round after the first, comment, override reason, time), then what
// the state means for a request in consolidation.
std::string RenderVotesAndComments(const kura::v1::ExportRequest& request);

// What the state asks of the reviewers; empty for states that need no explanation.
std::string RenderStateNote(const kura::v1::ExportRequest& request);

// After a vote on `file` by `reviewer` (empty: anyone): whether it revised an earlier vote
// in consolidation, and whether the request is (still) in consolidation.
std::string RenderVoteOutcome(const kura::v1::ExportRequest& response, absl::string_view file,
                              absl::string_view reviewer);

// The request in the machine form `--json` prints: votes with their round, comments,
// versions and the image; `with_report` adds the parsed report.
nlohmann::json ExportRequestJson(const kura::v1::ExportRequest& request, bool with_report);

}  // namespace kura::cli
