// SqliteStore: opening, migrations, users and projects. Other tables are in
// sqlite_store_resources.cc and sqlite_store_sessions.cc.

#include "gateway/sqlite_store.h"

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status.h"
#include "gateway/sqlite_store_internal.h"

namespace kura::gateway {

using sqlite_internal::Micros;
using sqlite_internal::NotFound;
using sqlite_internal::OptionalTimeAt;
using sqlite_internal::Text;
using sqlite_internal::TimeAt;

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path) {
  KURA_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path));
  std::unique_ptr<SqliteStore> store(new SqliteStore(std::move(db)));
  absl::MutexLock lock(&store->mu_);
  KURA_RETURN_IF_ERROR(store->Migrate());
  return store;
}

absl::StatusOr<int> SqliteStore::SchemaVersion() {
  absl::MutexLock lock(&mu_);
  KURA_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, db_->Query("PRAGMA user_version"));
  return static_cast<int>(rows.at(0).Int(0));
}

absl::Status SqliteStore::Migrate() {
  const std::vector<std::string>& migrations = sqlite_internal::Migrations();
  KURA_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, db_->Query("PRAGMA user_version"));
  int64_t version = rows.at(0).Int(0);
  if (version > static_cast<int64_t>(migrations.size())) {
    return absl::FailedPreconditionError(absl::StrCat("the store has schema version ", version,
                                                      " but this kura knows only up to ",
                                                      migrations.size(), "; use a newer kura"));
  }
  for (size_t v = static_cast<size_t>(version); v < migrations.size(); ++v) {
    KURA_RETURN_IF_ERROR(db_->Transaction([&]() -> absl::Status {
      KURA_RETURN_IF_ERROR(db_->ExecuteScript(migrations[v]));
      // PRAGMA takes no bound parameters; `v + 1` is our own integer.
      return db_->ExecuteScript(absl::StrCat("PRAGMA user_version = ", v + 1));
    }));
  }
  return absl::OkStatus();
}

absl::Status SqliteStore::RequireRow(absl::string_view table, absl::string_view key_column,
                                     absl::string_view what, absl::string_view key) {
  // `table` and `key_column` are compile-time names from this file, never input.
  KURA_ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      db_->Query(absl::StrCat("SELECT 1 FROM ", table, " WHERE ", key_column, " = ?"),
                 {Text(key)}));
  if (rows.empty()) return NotFound(what, key);
  return absl::OkStatus();
}

// ---- users ----------------------------------------------------------------------------------

absl::Status SqliteStore::CreateUser(const UserRecord& user) {
  if (user.name.empty()) return absl::InvalidArgumentError("a user needs a name");
  if (user.roles.empty()) return absl::InvalidArgumentError("a user needs at least one role");
  absl::MutexLock lock(&mu_);
  return db_->Transaction([&]() -> absl::Status {
    absl::StatusOr<int> inserted = db_->Execute(
        "INSERT INTO users (name, totp_secret_hex, locked, created_us) VALUES (?, ?, ?, ?)",
        {Text(user.name), HexEncode(user.totp_secret), int64_t{user.locked}, Micros(user.created)});
    if (absl::IsAlreadyExists(inserted.status())) {
      return absl::AlreadyExistsError(absl::StrCat("user '", user.name, "' already exists"));
    }
    KURA_RETURN_IF_ERROR(inserted.status());
    for (Role role : user.roles) {
      KURA_RETURN_IF_ERROR(
          db_->Execute("INSERT OR IGNORE INTO user_roles (user, role) VALUES (?, ?)",
                       {Text(user.name), Text(RoleName(role))})
              .status());
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<UserRecord> SqliteStore::GetUserLocked(absl::string_view name) {
  KURA_ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      db_->Query("SELECT name, totp_secret_hex, locked, failed_attempts, last_failure_us, "
                 "last_totp_step, created_us FROM users WHERE name = ?",
                 {Text(name)}));
  if (rows.empty()) return NotFound("user", name);
  const SqlRow& row = rows[0];
  UserRecord user;
  user.name = row.Text(0);
  KURA_ASSIGN_OR_RETURN(user.totp_secret, HexDecode(row.Text(1)));
  user.locked = row.Int(2) != 0;
  user.failed_attempts = static_cast<int>(row.Int(3));
  user.last_failure = OptionalTimeAt(row, 4);
  user.last_totp_step = row.Int(5);
  user.created = TimeAt(row, 6);
  KURA_ASSIGN_OR_RETURN(
      std::vector<SqlRow> roles,
      db_->Query("SELECT role FROM user_roles WHERE user = ? ORDER BY role", {Text(name)}));
  for (const SqlRow& r : roles) {
    KURA_ASSIGN_OR_RETURN(Role role, ParseRole(r.Text(0)));
    user.roles.push_back(role);
  }
  return user;
}

absl::StatusOr<UserRecord> SqliteStore::GetUser(absl::string_view name) {
  absl::MutexLock lock(&mu_);
  return GetUserLocked(name);
}

absl::StatusOr<std::vector<UserRecord>> SqliteStore::ListUsers() {
  absl::MutexLock lock(&mu_);
  KURA_ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                        db_->Query("SELECT name FROM users ORDER BY name"));
  std::vector<UserRecord> users;
  for (const SqlRow& row : rows) {
    KURA_ASSIGN_OR_RETURN(UserRecord user, GetUserLocked(row.Text(0)));
    users.push_back(std::move(user));
  }
  return users;
}

absl::StatusOr<UserRecord> SqliteStore::RecordFactorFailure(absl::string_view name, absl::Time now,
                                                            int lock_after) {
  absl::MutexLock lock(&mu_);
  KURA_ASSIGN_OR_RETURN(
      int changed,
      db_->Execute("UPDATE users SET failed_attempts = failed_attempts + 1, last_failure_us = ?, "
                   "locked = CASE WHEN failed_attempts + 1 >= ? THEN 1 ELSE locked END "
                   "WHERE name = ?",
                   {Micros(now), int64_t{lock_after}, Text(name)}));
  if (changed == 0) return NotFound("user", name);
  return GetUserLocked(name);
}

absl::Status SqliteStore::RecordFactorSuccess(absl::string_view name) {
  absl::MutexLock lock(&mu_);
  KURA_ASSIGN_OR_RETURN(
      int changed,
      db_->Execute("UPDATE users SET failed_attempts = 0, last_failure_us = NULL WHERE name = ?",
                   {Text(name)}));
  if (changed == 0) return NotFound("user", name);
  return absl::OkStatus();
}

absl::Status SqliteStore::SetUserLocked(absl::string_view name, bool locked) {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<int> changed =
      locked ? db_->Execute("UPDATE users SET locked = 1 WHERE name = ?", {Text(name)})
             : db_->Execute(
                   "UPDATE users SET locked = 0, failed_attempts = 0, "
                   "last_failure_us = NULL WHERE name = ?",
                   {Text(name)});
  KURA_RETURN_IF_ERROR(changed.status());
  if (*changed == 0) return NotFound("user", name);
  return absl::OkStatus();
}

absl::Status SqliteStore::ConsumeTotpStep(absl::string_view name, int64_t step) {
  absl::MutexLock lock(&mu_);
  KURA_ASSIGN_OR_RETURN(int changed, db_->Execute("UPDATE users SET last_totp_step = ? "
                                                  "WHERE name = ? AND last_totp_step < ?",
                                                  {step, Text(name), step}));
  if (changed == 1) return absl::OkStatus();
  KURA_RETURN_IF_ERROR(RequireRow("users", "name", "user", name));
  return absl::AlreadyExistsError("this one-time code (or a later one) was already used");
}

// ---- projects -------------------------------------------------------------------------------

absl::Status SqliteStore::CreateProject(const ProjectRecord& project) {
  if (project.name.empty()) return absl::InvalidArgumentError("a project needs a name");
  absl::MutexLock lock(&mu_);
  absl::StatusOr<int> inserted =
      db_->Execute("INSERT INTO projects (name, description, created_us) VALUES (?, ?, ?)",
                   {Text(project.name), Text(project.description), Micros(project.created)});
  if (absl::IsAlreadyExists(inserted.status())) {
    return absl::AlreadyExistsError(absl::StrCat("project '", project.name, "' already exists"));
  }
  return inserted.status();
}

absl::StatusOr<ProjectRecord> SqliteStore::GetProject(absl::string_view name) {
  absl::MutexLock lock(&mu_);
  KURA_ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      db_->Query("SELECT name, description, created_us FROM projects WHERE name = ?",
                 {Text(name)}));
  if (rows.empty()) return NotFound("project", name);
  return ProjectRecord{rows[0].Text(0), rows[0].Text(1), TimeAt(rows[0], 2)};
}

absl::StatusOr<std::vector<ProjectRecord>> SqliteStore::ListProjects() {
  absl::MutexLock lock(&mu_);
  KURA_ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      db_->Query("SELECT name, description, created_us FROM projects ORDER BY name"));
  std::vector<ProjectRecord> projects;
  for (const SqlRow& row : rows) {
    projects.push_back({row.Text(0), row.Text(1), TimeAt(row, 2)});
  }
  return projects;
}

absl::Status SqliteStore::AddProjectMember(absl::string_view project, absl::string_view user) {
  absl::MutexLock lock(&mu_);
  KURA_RETURN_IF_ERROR(RequireRow("projects", "name", "project", project));
  KURA_RETURN_IF_ERROR(RequireRow("users", "name", "user", user));
  absl::StatusOr<int> inserted = db_->Execute(
      "INSERT INTO project_members (project, user) VALUES (?, ?)", {Text(project), Text(user)});
  if (absl::IsAlreadyExists(inserted.status())) {
    return absl::AlreadyExistsError(
        absl::StrCat("'", user, "' is already a member of project '", project, "'"));
  }
  return inserted.status();
}

absl::StatusOr<std::vector<std::string>> SqliteStore::ListProjectMembers(
    absl::string_view project) {
  absl::MutexLock lock(&mu_);
  KURA_RETURN_IF_ERROR(RequireRow("projects", "name", "project", project));
  KURA_ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      db_->Query("SELECT user FROM project_members WHERE project = ? ORDER BY user",
                 {Text(project)}));
  std::vector<std::string> members;
  for (const SqlRow& row : rows) members.push_back(row.Text(0));
  return members;
}

absl::StatusOr<std::vector<std::string>> SqliteStore::ListProjectsOfUser(absl::string_view user) {
  absl::MutexLock lock(&mu_);
  KURA_RETURN_IF_ERROR(RequireRow("users", "name", "user", user));
  KURA_ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      db_->Query("SELECT project FROM project_members WHERE user = ? ORDER BY project",
                 {Text(user)}));
  std::vector<std::string> projects;
  for (const SqlRow& row : rows) projects.push_back(row.Text(0));
  return projects;
}

}  // namespace kura::gateway
