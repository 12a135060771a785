// SqliteStore: opening, migrations, users (and their sealed TOTP secrets) and projects. Other
// tables are in sqlite_store_resources.cc and sqlite_store_sessions.cc.

#include "gateway/sqlite_store.h"

#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/logging.h"
#include "common/status.h"
#include "gateway/pki_files.h"
#include "gateway/sqlite_store_internal.h"
#include "gateway/totp.h"

namespace kura::gateway {

using sqlite_internal::Micros;
using sqlite_internal::NotFound;
using sqlite_internal::OptionalTimeAt;
using sqlite_internal::Text;
using sqlite_internal::TimeAt;

std::string SecretsKeyPath(const std::string& pki_dir) { return pki_dir + "/secrets.key"; }

absl::StatusOr<std::string> LoadSecretsKey(const std::string& path, bool create) {
  absl::StatusOr<std::string> text = ReadTextFile(path);
  if (absl::IsNotFound(text.status()) && create) {
    const std::string dir = std::filesystem::path(path).parent_path().string();
    if (!dir.empty()) KURA_RETURN_IF_ERROR(EnsureDirectory(dir));
    KURA_ASSIGN_OR_RETURN(std::string key, RandomBytes(kAesGcmKeySize));
    absl::Status written = WriteNewFile(path, absl::StrCat(HexEncode(key), "\n"), 0600);
    if (written.ok()) {
      KURA_LOG(Info) << "created the key that seals TOTP secrets: " << path;
      return key;
    }
    // Another process (kura-admin beside the gateway) created it first: use that one.
    if (!absl::IsAlreadyExists(written)) return written;
    text = ReadTextFile(path);
  }
  KURA_RETURN_IF_ERROR(text.status());
  absl::StatusOr<std::string> key = HexDecode(absl::StripAsciiWhitespace(*text));
  if (!key.ok() || key->size() != kAesGcmKeySize) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " does not hold a 32-byte key as 64 hex digits"));
  }
  return *std::move(key);
}

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  return Open(path, SecretsKeyPath((dir / "pki").string()));
}

absl::StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(
    const std::string& path, const std::string& secrets_key_path) {
  KURA_ASSIGN_OR_RETURN(std::unique_ptr<SqliteDb> db, SqliteDb::Open(path));
  std::unique_ptr<SqliteStore> store(new SqliteStore(std::move(db), secrets_key_path));
  absl::MutexLock lock(&store->mu_);
  KURA_RETURN_IF_ERROR(store->Migrate());
  absl::StatusOr<int> sealed = store->SealPlaintextSecrets();
  if (!sealed.ok()) {
    // The store stays usable for everything else; those users' logins fail (Internal) until
    // the key is there, and their secrets are never read in plaintext.
    KURA_LOG(Error) << "TOTP secrets in " << path << " are still in plaintext and could not be "
                    << "sealed: " << sealed.status();
  } else if (*sealed > 0) {
    KURA_LOG(Info) << "sealed " << *sealed << " TOTP secret(s) that " << path
                   << " held in plaintext, under " << secrets_key_path;
  }
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
  std::string stored_secret;
  if (!user.totp_secret.empty()) {
    KURA_ASSIGN_OR_RETURN(stored_secret, SealedSecret(user.name, user.totp_secret));
  }
  return db_->Transaction([&]() -> absl::Status {
    absl::StatusOr<int> inserted = db_->Execute(
        "INSERT INTO users (name, totp_secret_hex, locked, created_us) VALUES (?, ?, ?, ?)",
        {Text(user.name), stored_secret, int64_t{user.locked}, Micros(user.created)});
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
      db_->Query("SELECT name, locked, failed_attempts, last_failure_us, last_totp_step, "
                 "created_us FROM users WHERE name = ?",
                 {Text(name)}));
  if (rows.empty()) return NotFound("user", name);
  const SqlRow& row = rows[0];
  UserRecord user;
  user.name = row.Text(0);
  user.locked = row.Int(1) != 0;
  user.failed_attempts = static_cast<int>(row.Int(2));
  user.last_failure = OptionalTimeAt(row, 3);
  user.last_totp_step = row.Int(4);
  user.created = TimeAt(row, 5);
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

// ---- TOTP secrets at rest ------------------------------------------------------------------

absl::StatusOr<std::string> SqliteStore::SecretsKey(bool for_sealing) {
  if (!secrets_key_.empty()) return secrets_key_;
  bool create = false;
  if (for_sealing) {
    // A new key only while nothing is sealed: a lost key must be restored, not replaced by one
    // that opens nothing stored so far.
    KURA_ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                          db_->Query("SELECT count(*) FROM users "
                                     "WHERE substr(totp_secret_hex, 1, 3) = 'v1:'"));
    create = rows.at(0).Int(0) == 0;
  }
  absl::StatusOr<std::string> key = LoadSecretsKey(secrets_key_path_, create);
  if (!key.ok()) {
    return absl::InternalError(absl::StrCat(
        "the key that seals TOTP secrets is unusable: ", key.status().message(),
        absl::IsNotFound(key.status()) ? " (restore it from the backup of the pki directory)"
                                       : ""));
  }
  secrets_key_ = *std::move(key);
  return secrets_key_;
}

absl::StatusOr<std::string> SqliteStore::SealedSecret(absl::string_view user,
                                                      absl::string_view secret) {
  KURA_ASSIGN_OR_RETURN(std::string key, SecretsKey(/*for_sealing=*/true));
  return SealTotpSecret(key, user, secret);
}

absl::StatusOr<std::string> SqliteStore::OpenedSecret(absl::string_view user,
                                                      absl::string_view stored) {
  KURA_ASSIGN_OR_RETURN(std::string key, SecretsKey(/*for_sealing=*/false));
  absl::StatusOr<std::string> secret = OpenTotpSecret(key, user, stored);
  if (!secret.ok()) {
    return absl::InternalError(absl::StrCat("the TOTP secret of '", user, "' does not open (",
                                            secret.status().message(), "): wrong key in ",
                                            secrets_key_path_, ", or the row was changed"));
  }
  return secret;
}

absl::StatusOr<int> SqliteStore::SealPlaintextSecrets() {
  KURA_ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                        db_->Query("SELECT name, totp_secret_hex FROM users WHERE "
                                   "totp_secret_hex <> '' AND "
                                   "substr(totp_secret_hex, 1, 3) <> 'v1:'"));
  if (rows.empty()) return 0;
  int sealed = 0;
  KURA_RETURN_IF_ERROR(db_->Transaction([&]() -> absl::Status {
    for (const SqlRow& row : rows) {
      absl::StatusOr<std::string> secret = HexDecode(row.Text(1));
      if (!secret.ok()) {
        return absl::DataLossError(
            absl::StrCat("the TOTP secret of '", row.Text(0), "' is neither sealed nor hex"));
      }
      KURA_ASSIGN_OR_RETURN(std::string stored, SealedSecret(row.Text(0), *secret));
      // Compared with the plaintext read above, so a second process sealing the same rows at
      // the same time changes nothing twice.
      KURA_ASSIGN_OR_RETURN(int changed, db_->Execute("UPDATE users SET totp_secret_hex = ? "
                                                      "WHERE name = ? AND totp_secret_hex = ?",
                                                      {stored, row.Text(0), row.Text(1)}));
      sealed += changed;
    }
    return absl::OkStatus();
  }));
  return sealed;
}

absl::StatusOr<std::string> SqliteStore::GetTotpSecret(absl::string_view name) {
  absl::MutexLock lock(&mu_);
  KURA_ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      db_->Query("SELECT totp_secret_hex FROM users WHERE name = ?", {Text(name)}));
  if (!rows.empty()) {
    if (rows[0].Text(0).empty()) return std::string();
    return OpenedSecret(name, rows[0].Text(0));
  }
  // No such user: open some user's secret all the same, so that neither the time taken nor a
  // missing or wrong key tells an unknown name from a user.
  KURA_ASSIGN_OR_RETURN(std::vector<SqlRow> reference,
                        db_->Query("SELECT name, totp_secret_hex FROM users "
                                   "WHERE substr(totp_secret_hex, 1, 3) = 'v1:' LIMIT 1"));
  if (!reference.empty()) {
    KURA_RETURN_IF_ERROR(OpenedSecret(reference[0].Text(0), reference[0].Text(1)).status());
  }
  return NotFound("user", name);
}

// ---- names that are no user -----------------------------------------------------------------

absl::StatusOr<LoginThrottle> SqliteStore::GetUnknownNameThrottle(absl::string_view name) {
  absl::MutexLock lock(&mu_);
  KURA_ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                        db_->Query("SELECT locked, failed_attempts, last_failure_us "
                                   "FROM unknown_login_names WHERE name_sha256 = ?",
                                   {Sha256Hex(name)}));
  if (rows.empty()) return LoginThrottle{};
  return LoginThrottle{rows[0].Int(0) != 0, static_cast<int>(rows[0].Int(1)), TimeAt(rows[0], 2)};
}

absl::StatusOr<LoginThrottle> SqliteStore::RecordUnknownNameFailure(absl::string_view name,
                                                                    absl::Time now, int lock_after,
                                                                    int capacity) {
  if (capacity < 1) return absl::InvalidArgumentError("keep at least one unknown name");
  const std::string key = Sha256Hex(name);
  absl::MutexLock lock(&mu_);
  KURA_RETURN_IF_ERROR(db_->Transaction([&]() -> absl::Status {
    KURA_RETURN_IF_ERROR(
        db_->Execute("INSERT INTO unknown_login_names "
                     "(name_sha256, failed_attempts, last_failure_us, locked) VALUES (?, 1, ?, ?) "
                     "ON CONFLICT (name_sha256) DO UPDATE SET "
                     "failed_attempts = failed_attempts + 1, "
                     "last_failure_us = excluded.last_failure_us, "
                     "locked = CASE WHEN failed_attempts + 1 >= ? THEN 1 ELSE locked END",
                     {key, Micros(now), int64_t{lock_after <= 1}, int64_t{lock_after}})
            .status());
    // Bounded, so that trying endless names cannot grow the store: the least recently failed
    // go first, unlocked before locked (forgetting a locked name would let it be told apart
    // from a locked user), never the name just counted.
    return db_
        ->Execute(
            "DELETE FROM unknown_login_names WHERE name_sha256 IN ("
            "SELECT name_sha256 FROM unknown_login_names WHERE name_sha256 <> ? "
            "ORDER BY locked, last_failure_us "
            "LIMIT max(0, (SELECT count(*) FROM unknown_login_names) - ?))",
            {key, int64_t{capacity}})
        .status();
  }));
  KURA_ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                        db_->Query("SELECT locked, failed_attempts, last_failure_us "
                                   "FROM unknown_login_names WHERE name_sha256 = ?",
                                   {key}));
  return LoginThrottle{rows.at(0).Int(0) != 0, static_cast<int>(rows.at(0).Int(1)),
                       TimeAt(rows.at(0), 2)};
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
