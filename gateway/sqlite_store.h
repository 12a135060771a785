#pragma once

// The embedded store: one SQLite file in WAL mode, foreign keys on, versioned migrations
// (PRAGMA user_version), every statement prepared with bound parameters. The audit table is
// append-only at the SQL level too (triggers refuse UPDATE and DELETE); the hash chain
// (audit.h) is what detects an edit made around them.
//
// Thread-safe: one connection, every call serialised by a mutex. Reopening the file after a
// restart gives back everything.

#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "gateway/sqlite_db.h"
#include "gateway/store.h"

namespace kura::gateway {

// The schema version this build writes; a file with a higher one is refused.
inline constexpr int kStoreSchemaVersion = 4;

// DIR/secrets.key in a PKI directory: the 32-byte key (64 hex digits, mode 0600) under which
// the store seals TOTP secrets (totp.h).
std::string SecretsKeyPath(const std::string& pki_dir);

// The secrets key at `path`. When the file is missing and `create` is set, makes one from the
// CSPRNG (O_EXCL, mode 0600, its directory 0700) and returns it; NotFound when missing
// otherwise. FailedPrecondition when the file does not hold 64 hex digits.
absl::StatusOr<std::string> LoadSecretsKey(const std::string& path, bool create);

// The store seals TOTP secrets itself, rather than leaving it to its callers: CreateUser is the
// one place a secret is written and GetTotpSecret the one place it is read, whoever adds the
// user (kura-admin, tests), and converting plaintext rows of an older store belongs with the
// other upgrades done on Open. Nothing else in the gateway ever holds the key or a sealed
// secret; GetUser does not return secrets at all.
//
// The key is loaded when first needed and created only while no sealed secret exists (so a
// lost key is never silently replaced by a new one). A missing or wrong key fails the calls that
// need it (Internal, saying which file) and nothing else.
class SqliteStore final : public Store {
 public:
  // Opens or creates the store at `path`, applies pending migrations, then seals any TOTP secret
  // still stored in plaintext under the key at `secrets_key_path` (logged; a failure to do so is
  // logged and leaves those users unable to log in, never falling back to plaintext).
  // FailedPrecondition when the file was written by a newer kura.
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& path,
                                                           const std::string& secrets_key_path);
  // As above, with the key at <directory of path>/pki/secrets.key: the layout of a state
  // directory, where store.sqlite lies beside pki/.
  static absl::StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& path);

  // The schema version of the opened file (after migrations).
  absl::StatusOr<int> SchemaVersion();

  absl::Status CreateUser(const UserRecord& user) override;
  absl::StatusOr<UserRecord> GetUser(absl::string_view name) override;
  absl::StatusOr<std::vector<UserRecord>> ListUsers() override;
  absl::StatusOr<UserRecord> RecordFactorFailure(absl::string_view name, absl::Time now,
                                                 int lock_after) override;
  absl::Status RecordFactorSuccess(absl::string_view name) override;
  absl::Status SetUserLocked(absl::string_view name, bool locked) override;
  absl::Status ConsumeTotpStep(absl::string_view name, int64_t step) override;
  absl::StatusOr<std::string> GetTotpSecret(absl::string_view name) override;
  absl::StatusOr<LoginThrottle> GetUnknownNameThrottle(absl::string_view name) override;
  absl::StatusOr<LoginThrottle> RecordUnknownNameFailure(absl::string_view name, absl::Time now,
                                                         int lock_after, int capacity) override;

  absl::Status CreateProject(const ProjectRecord& project) override;
  absl::StatusOr<ProjectRecord> GetProject(absl::string_view name) override;
  absl::StatusOr<std::vector<ProjectRecord>> ListProjects() override;
  absl::Status AddProjectMember(absl::string_view project, absl::string_view user) override;
  absl::StatusOr<std::vector<std::string>> ListProjectMembers(absl::string_view project) override;
  absl::StatusOr<std::vector<std::string>> ListProjectsOfUser(absl::string_view user) override;

  absl::Status RegisterSchema(const SchemaRecord& schema) override;
  absl::StatusOr<SchemaRecord> GetSchema(absl::string_view name) override;
  absl::StatusOr<std::vector<SchemaRecord>> ListSchemas() override;
  absl::StatusOr<int64_t> AddGrant(const GrantRecord& grant) override;
  absl::StatusOr<std::vector<GrantRecord>> ListGrants(absl::string_view project) override;

  absl::Status AddTerminal(const TerminalRecord& terminal) override;
  absl::StatusOr<TerminalRecord> GetTerminal(absl::string_view id) override;
  absl::StatusOr<std::vector<TerminalRecord>> ListTerminals() override;
  absl::Status RevokeTerminal(absl::string_view id, absl::Time now) override;
  absl::Status RevokeCertificate(absl::string_view serial, absl::string_view reason,
                                 absl::Time now) override;
  absl::StatusOr<std::vector<std::string>> ListRevokedSerials() override;

  absl::Status UpsertNode(const NodeRecord& node) override;
  absl::StatusOr<NodeRecord> GetNode(absl::string_view id) override;
  absl::StatusOr<std::vector<NodeRecord>> ListNodes() override;
  absl::Status SetNodeCordoned(absl::string_view id, bool cordoned) override;
  absl::Status RecordHeartbeat(absl::string_view id, absl::Time now) override;

  absl::StatusOr<int64_t> CreateSession(const SessionRecord& session) override;
  absl::StatusOr<SessionRecord> GetSessionByTokenHash(absl::string_view token_hash) override;
  absl::StatusOr<std::vector<SessionRecord>> ListSessions(absl::string_view user) override;
  absl::Status TouchSession(int64_t id, absl::Time now) override;
  absl::Status RevokeSession(int64_t id) override;
  absl::StatusOr<int> RevokeUserSessions(absl::string_view user) override;

  absl::Status ConsumeNonce(absl::string_view scope, absl::string_view nonce, absl::Time expires,
                            absl::Time now) override;

  absl::Status CreateWorkspace(const WorkspaceRecord& workspace) override;
  absl::StatusOr<WorkspaceRecord> GetWorkspace(absl::string_view id) override;
  absl::StatusOr<std::vector<WorkspaceRecord>> ListWorkspaces(
      std::optional<std::string> node) override;
  absl::Status SetWorkspaceState(absl::string_view id, WorkspaceState state,
                                 absl::Time now) override;

  absl::StatusOr<int64_t> CreateExport(const ExportRecord& request) override;
  absl::StatusOr<int> AddExportVersion(const ExportRecord& request, int based_on) override;
  absl::StatusOr<ExportRecord> GetExport(int64_t id) override;
  absl::StatusOr<std::vector<ExportRecord>> ListExportVersions(int64_t id) override;
  absl::StatusOr<std::vector<ExportRecord>> ListExports(absl::string_view project) override;
  absl::Status SetExportState(int64_t id, ExportState from, ExportState to,
                              absl::Time now) override;
  absl::StatusOr<int> AddExportVote(const ExportVoteRecord& vote) override;
  absl::Status AddExportComment(const ExportCommentRecord& comment) override;
  absl::StatusOr<std::vector<ExportCommentRecord>> ListExportComments(int64_t id,
                                                                      int version) override;
  absl::StatusOr<std::vector<ExportVoteRecord>> ListExportVotes(int64_t id,
                                                                int version) override;

  absl::StatusOr<AuditEvent> AppendAuditEvent(const AuditEntry& entry, absl::Time now) override;
  absl::StatusOr<std::vector<AuditEvent>> ListAuditEvents() override;

 private:
  SqliteStore(std::unique_ptr<SqliteDb> db, std::string secrets_key_path)
      : secrets_key_path_(std::move(secrets_key_path)), db_(std::move(db)) {}
  absl::Status Migrate() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Seals every TOTP secret still in plaintext; returns how many.
  absl::StatusOr<int> SealPlaintextSecrets() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The secrets key, loaded once; created only when `for_sealing` and no sealed secret exists.
  absl::StatusOr<std::string> SecretsKey(bool for_sealing) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::string> SealedSecret(absl::string_view user, absl::string_view secret)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::string> OpenedSecret(absl::string_view user, absl::string_view stored)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<UserRecord> GetUserLocked(absl::string_view name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status RequireRow(absl::string_view table, absl::string_view key_column,
                          absl::string_view what, absl::string_view key)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string secrets_key_path_;
  absl::Mutex mu_;
  std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);
  std::string secrets_key_ ABSL_GUARDED_BY(mu_);  // empty until loaded
};

}  // namespace kura::gateway
