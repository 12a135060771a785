#include "gateway/sqlite_db.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace kura::gateway {
namespace {

struct StatementDeleter {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using Statement = std::unique_ptr<sqlite3_stmt, StatementDeleter>;

}  // namespace

int64_t SqlRow::Int(int column) const {
  const auto* value = std::get_if<int64_t>(&values_.at(column));
  if (value == nullptr) std::abort();
  return *value;
}

const std::string& SqlRow::Text(int column) const {
  const auto* value = std::get_if<std::string>(&values_.at(column));
  if (value == nullptr) std::abort();
  return *value;
}

std::optional<int64_t> SqlRow::OptionalInt(int column) const {
  if (std::holds_alternative<std::monostate>(values_.at(column))) return std::nullopt;
  return Int(column);
}

absl::StatusOr<std::unique_ptr<SqliteDb>> SqliteDb::Open(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  std::unique_ptr<SqliteDb> db(new SqliteDb(raw));
  if (rc != SQLITE_OK) {
    return absl::UnavailableError(
        absl::StrCat("sqlite3_open(", path, "): ", raw ? sqlite3_errmsg(raw) : "out of memory"));
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 5000);
  KURA_ASSIGN_OR_RETURN(std::vector<SqlRow> mode, db->Query("PRAGMA journal_mode=WAL"));
  if (mode.empty() || mode[0].Text(0) != "wal") {
    return absl::FailedPreconditionError(absl::StrCat(path, ": cannot switch to WAL mode"));
  }
  KURA_RETURN_IF_ERROR(db->ExecuteScript("PRAGMA foreign_keys=ON; PRAGMA synchronous=FULL;"));
  return db;
}

SqliteDb::~SqliteDb() { sqlite3_close_v2(db_); }

absl::Status SqliteDb::Error(absl::string_view what) const {
  int code = sqlite3_extended_errcode(db_);
  std::string message = absl::StrCat(what, ": ", sqlite3_errmsg(db_));
  switch (code) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return absl::AlreadyExistsError(message);
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return absl::FailedPreconditionError(message);
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
      return absl::InvalidArgumentError(message);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::StatusOr<std::vector<SqlRow>> SqliteDb::Query(absl::string_view sql,
                                                    const std::vector<SqlValue>& params) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &raw, nullptr) !=
      SQLITE_OK) {
    return Error("sqlite3_prepare");
  }
  Statement stmt(raw);
  for (size_t i = 0; i < params.size(); ++i) {
    int index = static_cast<int>(i + 1);
    int rc = SQLITE_OK;
    if (const auto* n = std::get_if<int64_t>(&params[i])) {
      rc = sqlite3_bind_int64(raw, index, *n);
    } else if (const auto* s = std::get_if<std::string>(&params[i])) {
      rc = sqlite3_bind_text(raw, index, s->data(), static_cast<int>(s->size()), SQLITE_TRANSIENT);
    } else {
      rc = sqlite3_bind_null(raw, index);
    }
    if (rc != SQLITE_OK) return Error("sqlite3_bind");
  }
  std::vector<SqlRow> rows;
  for (;;) {
    int rc = sqlite3_step(raw);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) return Error("sqlite3_step");
    std::vector<SqlValue> values;
    int columns = sqlite3_column_count(raw);
    for (int c = 0; c < columns; ++c) {
      switch (sqlite3_column_type(raw, c)) {
        case SQLITE_NULL:
          values.emplace_back(std::monostate());
          break;
        case SQLITE_INTEGER:
          values.emplace_back(static_cast<int64_t>(sqlite3_column_int64(raw, c)));
          break;
        default:
          values.emplace_back(
              std::string(reinterpret_cast<const char*>(sqlite3_column_text(raw, c)),
                          static_cast<size_t>(sqlite3_column_bytes(raw, c))));
      }
    }
    rows.emplace_back(std::move(values));
  }
  return rows;
}

absl::StatusOr<int> SqliteDb::Execute(absl::string_view sql, const std::vector<SqlValue>& params) {
  KURA_RETURN_IF_ERROR(Query(sql, params).status());
  return sqlite3_changes(db_);
}

absl::Status SqliteDb::ExecuteScript(const std::string& sql) {
  char* error = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error) != SQLITE_OK) {
    std::string message = error != nullptr ? error : "unknown error";
    sqlite3_free(error);
    return absl::InternalError(absl::StrCat("sqlite3_exec: ", message));
  }
  return absl::OkStatus();
}

int64_t SqliteDb::LastInsertRowId() const { return sqlite3_last_insert_rowid(db_); }

absl::Status SqliteDb::Transaction(absl::FunctionRef<absl::Status()> body) {
  KURA_RETURN_IF_ERROR(Execute("BEGIN IMMEDIATE").status());
  absl::Status status = body();
  if (!status.ok()) {
    // The body's error is what the caller needs; a failed rollback only adds noise.
    (void)Execute("ROLLBACK");
    return status;
  }
  absl::Status commit = Execute("COMMIT").status();
  if (!commit.ok()) (void)Execute("ROLLBACK");
  return commit;
}

}  // namespace kura::gateway
