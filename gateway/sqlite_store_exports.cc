// SqliteStore: export requests (a row per version) and the reviewers' votes.

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "gateway/sqlite_store.h"
#include "gateway/sqlite_store_internal.h"

namespace kura::gateway {

using sqlite_internal::Micros;
using sqlite_internal::NotFound;
using sqlite_internal::Text;
using sqlite_internal::TimeAt;

namespace {

constexpr char kExportColumns[] =
    "id, version, project, author, workspace, justification, state, snapshot_id, files_json, "
    "report_json, verdict, policy_name, policy_sha256, checker_version, schemas_json, "
    "required_reviewers, created_us, updated_us, image_json";

// The latest version of each request.
constexpr char kLatest[] =
    "version = (SELECT MAX(version) FROM export_requests AS e WHERE e.id = export_requests.id)";

absl::StatusOr<ExportRecord> ExportFromRow(const SqlRow& row) {
  ExportRecord r;
  r.id = row.Int(0);
  r.version = static_cast<int>(row.Int(1));
  r.project = row.Text(2);
  r.author = row.Text(3);
  r.workspace = row.Text(4);
  r.justification = row.Text(5);
  KURA_ASSIGN_OR_RETURN(r.state, ParseExportState(row.Text(6)));
  r.snapshot_id = row.Text(7);
  r.files_json = row.Text(8);
  r.report_json = row.Text(9);
  r.verdict = row.Text(10);
  r.policy_name = row.Text(11);
  r.policy_sha256 = row.Text(12);
  r.checker_version = row.Text(13);
  r.schemas_json = row.Text(14);
  r.required_reviewers = static_cast<int>(row.Int(15));
  r.created = TimeAt(row, 16);
  r.updated = TimeAt(row, 17);
  r.image_json = row.Text(18);
  return r;
}

absl::StatusOr<std::vector<ExportRecord>> ExportsFromRows(const std::vector<SqlRow>& rows) {
  std::vector<ExportRecord> out;
  for (const SqlRow& row : rows) {
    KURA_ASSIGN_OR_RETURN(ExportRecord r, ExportFromRow(row));
    out.push_back(std::move(r));
  }
  return out;
}

// The parameters of one export_requests row at `version`, in kExportColumns' order.
std::vector<SqlValue> ExportRow(const ExportRecord& r, int64_t id, int version) {
  return {id,
          static_cast<int64_t>(version),
          Text(r.project),
          Text(r.author),
          Text(r.workspace),
          Text(r.justification),
          Text(ExportStateName(r.state)),
          Text(r.snapshot_id),
          Text(r.files_json),
          Text(r.report_json),
          Text(r.verdict),
          Text(r.policy_name),
          Text(r.policy_sha256),
          Text(r.checker_version),
          Text(r.schemas_json),
          static_cast<int64_t>(r.required_reviewers),
          Micros(r.created),
          Micros(r.updated),
          Text(r.image_json)};
}

constexpr char kInsertExport[] =
    "INSERT INTO export_requests (id, version, project, author, workspace, justification, "
    "state, snapshot_id, files_json, report_json, verdict, policy_name, policy_sha256, "
    "checker_version, schemas_json, required_reviewers, created_us, updated_us, image_json) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

}  // namespace

absl::StatusOr<int64_t> SqliteStore::CreateExport(const ExportRecord& r) {
  if (r.required_reviewers < 1) {
    return absl::InvalidArgumentError("an export request needs at least one reviewer");
  }
  absl::MutexLock lock(&mu_);
  KURA_RETURN_IF_ERROR(RequireRow("projects", "name", "project", r.project));
  KURA_RETURN_IF_ERROR(RequireRow("users", "name", "user", r.author));
  int64_t id = 0;
  KURA_RETURN_IF_ERROR(db_->Transaction([&]() -> absl::Status {
    KURA_ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                          db_->Query("SELECT COALESCE(MAX(id), 0) + 1 FROM export_requests"));
    id = rows[0].Int(0);
    return db_->Execute(kInsertExport, ExportRow(r, id, 1)).status();
  }));
  return id;
}

absl::StatusOr<int> SqliteStore::AddExportVersion(const ExportRecord& r, int based_on) {
  absl::MutexLock lock(&mu_);
  int version = 0;
  KURA_RETURN_IF_ERROR(db_->Transaction([&]() -> absl::Status {
    KURA_ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                          db_->Query("SELECT version, state FROM export_requests WHERE id = ? "
                                     "ORDER BY version DESC LIMIT 1",
                                     {r.id}));
    if (rows.empty()) return NotFound("export request", absl::StrCat(r.id));
    int latest = static_cast<int>(rows[0].Int(0));
    std::string state = rows[0].Text(1);
    if (latest != based_on) {
      return absl::FailedPreconditionError(
          absl::StrCat("export request ", r.id, " is at version ", latest, " now, not ", based_on));
    }
    if (state != "checked" && state != "in_review" && state != "consolidation" &&
        state != "changes_requested") {
      return absl::FailedPreconditionError(
          absl::StrCat("export request ", r.id, " is ", state, " now; it takes no new version"));
    }
    version = latest + 1;
    return db_->Execute(kInsertExport, ExportRow(r, r.id, version)).status();
  }));
  return version;
}

absl::StatusOr<ExportRecord> SqliteStore::GetExport(int64_t id) {
  absl::MutexLock lock(&mu_);
  KURA_ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      db_->Query(absl::StrCat("SELECT ", kExportColumns,
                              " FROM export_requests WHERE id = ? ORDER BY version DESC LIMIT 1"),
                 {id}));
  if (rows.empty()) return NotFound("export request", absl::StrCat(id));
  return ExportFromRow(rows[0]);
}

absl::StatusOr<std::vector<ExportRecord>> SqliteStore::ListExportVersions(int64_t id) {
  absl::MutexLock lock(&mu_);
  KURA_ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      db_->Query(absl::StrCat("SELECT ", kExportColumns,
                              " FROM export_requests WHERE id = ? ORDER BY version"),
                 {id}));
  if (rows.empty()) return NotFound("export request", absl::StrCat(id));
  return ExportsFromRows(rows);
}

absl::StatusOr<std::vector<ExportRecord>> SqliteStore::ListExports(absl::string_view project) {
  absl::MutexLock lock(&mu_);
  std::string sql =
      absl::StrCat("SELECT ", kExportColumns, " FROM export_requests WHERE ", kLatest);
  std::vector<SqlValue> params;
  if (!project.empty()) {
    sql += " AND project = ?";
    params.push_back(Text(project));
  }
  sql += " ORDER BY id";
  KURA_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, db_->Query(sql, params));
  return ExportsFromRows(rows);
}

absl::Status SqliteStore::SetExportState(int64_t id, ExportState from, ExportState to,
                                         absl::Time now) {
  absl::MutexLock lock(&mu_);
  KURA_ASSIGN_OR_RETURN(
      int changed,
      db_->Execute(absl::StrCat("UPDATE export_requests SET state = ?, updated_us = ? "
                                "WHERE id = ? AND state = ? AND ",
                                kLatest),
                   {Text(ExportStateName(to)), Micros(now), id, Text(ExportStateName(from))}));
  if (changed == 1) return absl::OkStatus();
  KURA_ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                        db_->Query("SELECT 1 FROM export_requests WHERE id = ?", {id}));
  if (rows.empty()) return NotFound("export request", absl::StrCat(id));
  return absl::FailedPreconditionError(
      absl::StrCat("export request ", id, " is no longer ", ExportStateName(from)));
}

absl::StatusOr<int> SqliteStore::AddExportVote(const ExportVoteRecord& v) {
  absl::MutexLock lock(&mu_);
  KURA_RETURN_IF_ERROR(RequireRow("users", "name", "user", v.reviewer));
  int round = 0;
  KURA_RETURN_IF_ERROR(db_->Transaction([&]() -> absl::Status {
    KURA_ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                          db_->Query("SELECT version, state FROM export_requests WHERE id = ? "
                                     "ORDER BY version DESC LIMIT 1",
                                     {v.request_id}));
    if (rows.empty()) return NotFound("export request", absl::StrCat(v.request_id));
    int latest = static_cast<int>(rows[0].Int(0));
    std::string state = rows[0].Text(1);
    if (latest != v.version) {
      return absl::FailedPreconditionError(
          absl::StrCat("export request ", v.request_id, " is at version ", latest,
                       " now (its files changed); review that version"));
    }
    KURA_ASSIGN_OR_RETURN(
        std::vector<SqlRow> earlier,
        db_->Query(
            "SELECT MAX(round) FROM export_votes WHERE request_id = ? AND version = ? "
            "AND reviewer = ? AND file = ?",
            {v.request_id, static_cast<int64_t>(v.version), Text(v.reviewer), Text(v.file)}));
    std::optional<int64_t> last = earlier[0].OptionalInt(0);
    if (state == "checked" || state == "in_review") {
      if (last.has_value()) {
        return absl::AlreadyExistsError(absl::StrCat(v.reviewer, " already voted on ", v.file,
                                                     " of export request ", v.request_id,
                                                     " version ", v.version));
      }
      round = 1;
    } else if (state == "consolidation") {
      if (!last.has_value()) {
        return absl::FailedPreconditionError(
            absl::StrCat("export request ", v.request_id,
                         " is in consolidation: only the reviewers who voted on ", v.file,
                         " may vote on it again"));
      }
      round = static_cast<int>(*last) + 1;
    } else {
      return absl::FailedPreconditionError(
          absl::StrCat("export request ", v.request_id, " is ", state, ", not awaiting review"));
    }
    return db_
        ->Execute(
            "INSERT INTO export_votes (request_id, version, reviewer, file, decision, "
            "comment, override_reason, time_us, round) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            {v.request_id, static_cast<int64_t>(v.version), Text(v.reviewer), Text(v.file),
             Text(VoteDecisionName(v.decision)), Text(v.comment), Text(v.override_reason),
             Micros(v.time), static_cast<int64_t>(round)})
        .status();
  }));
  return round;
}

absl::StatusOr<std::vector<ExportVoteRecord>> SqliteStore::ListExportVotes(int64_t id,
                                                                           int version) {
  absl::MutexLock lock(&mu_);
  KURA_ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                        db_->Query("SELECT request_id, version, reviewer, file, decision, comment, "
                                   "override_reason, time_us, round FROM export_votes "
                                   "WHERE request_id = ? AND version = ? ORDER BY seq",
                                   {id, static_cast<int64_t>(version)}));
  std::vector<ExportVoteRecord> out;
  for (const SqlRow& row : rows) {
    ExportVoteRecord v;
    v.request_id = row.Int(0);
    v.version = static_cast<int>(row.Int(1));
    v.reviewer = row.Text(2);
    v.file = row.Text(3);
    KURA_ASSIGN_OR_RETURN(v.decision, ParseVoteDecision(row.Text(4)));
    v.comment = row.Text(5);
    v.override_reason = row.Text(6);
    v.time = TimeAt(row, 7);
    v.round = static_cast<int>(row.Int(8));
    out.push_back(std::move(v));
  }
  return out;
}

absl::Status SqliteStore::AddExportComment(const ExportCommentRecord& c) {
  absl::MutexLock lock(&mu_);
  KURA_RETURN_IF_ERROR(RequireRow("users", "name", "user", c.author));
  KURA_ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                        db_->Query("SELECT 1 FROM export_requests WHERE id = ? AND version = ?",
                                   {c.request_id, static_cast<int64_t>(c.version)}));
  if (rows.empty()) {
    return NotFound("export request version", absl::StrCat(c.request_id, " v", c.version));
  }
  return db_
      ->Execute(
          "INSERT INTO export_comments (request_id, version, author, file, text, time_us) "
          "VALUES (?, ?, ?, ?, ?, ?)",
          {c.request_id, static_cast<int64_t>(c.version), Text(c.author), Text(c.file),
           Text(c.text), Micros(c.time)})
      .status();
}

absl::StatusOr<std::vector<ExportCommentRecord>> SqliteStore::ListExportComments(int64_t id,
                                                                                 int version) {
  absl::MutexLock lock(&mu_);
  KURA_ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      db_->Query("SELECT request_id, version, author, file, text, time_us FROM export_comments "
                 "WHERE request_id = ? AND version = ? ORDER BY seq",
                 {id, static_cast<int64_t>(version)}));
  std::vector<ExportCommentRecord> out;
  for (const SqlRow& row : rows) {
    ExportCommentRecord c;
    c.request_id = row.Int(0);
    c.version = static_cast<int>(row.Int(1));
    c.author = row.Text(2);
    c.file = row.Text(3);
    c.text = row.Text(4);
    c.time = TimeAt(row, 5);
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace kura::gateway
