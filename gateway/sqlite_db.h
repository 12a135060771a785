#pragma once

// A SQLite connection for the store: opened in WAL mode with foreign keys on, and every
// statement prepared with bound parameters (no SQL is ever built from values). Owns one
// sqlite3 handle. Not thread-safe: its owner (SqliteStore) serialises calls.

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kura::gateway {

// NULL, INTEGER or TEXT (BLOBs are not used by the store).
using SqlValue = std::variant<std::monostate, int64_t, std::string>;

// One result row. Column accessors abort on a type the schema cannot produce (a broken
// invariant), except the Optional* ones, which accept NULL.
class SqlRow final {
 public:
  explicit SqlRow(std::vector<SqlValue> values) : values_(std::move(values)) {}
  int64_t Int(int column) const;
  const std::string& Text(int column) const;
  std::optional<int64_t> OptionalInt(int column) const;

 private:
  std::vector<SqlValue> values_;
};

class SqliteDb final {
 public:
  // Opens (creating if needed) the database at `path`, sets journal_mode=WAL,
  // foreign_keys=ON, synchronous=FULL and a busy timeout.
  static absl::StatusOr<std::unique_ptr<SqliteDb>> Open(const std::string& path);

  SqliteDb(const SqliteDb&) = delete;
  SqliteDb& operator=(const SqliteDb&) = delete;
  ~SqliteDb();

  // Runs one statement; returns the number of rows it changed.
  absl::StatusOr<int> Execute(absl::string_view sql, const std::vector<SqlValue>& params = {});
  // Runs one query and returns all its rows.
  absl::StatusOr<std::vector<SqlRow>> Query(absl::string_view sql,
                                            const std::vector<SqlValue>& params = {});
  // Runs a script of statements without parameters (migrations).
  absl::Status ExecuteScript(const std::string& sql);
  int64_t LastInsertRowId() const;
  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT; rolls back when it fails.
  absl::Status Transaction(absl::FunctionRef<absl::Status()> body);

 private:
  explicit SqliteDb(sqlite3* db) : db_(db) {}
  absl::Status Error(absl::string_view what) const;

  sqlite3* db_;
};

}  // namespace kura::gateway
