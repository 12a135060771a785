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
inline constexpr int kStoreSchemaVersion = 3;

class SqliteStore final : public Store {
 public:
  // Opens or creates the store at `path` and applies pending migrations.
  // FailedPrecondition when the file was written by a newer kura.
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
  explicit SqliteStore(std::unique_ptr<SqliteDb> db) : db_(std::move(db)) {}
  absl::Status Migrate() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<UserRecord> GetUserLocked(absl::string_view name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status RequireRow(absl::string_view table, absl::string_view key_column,
                          absl::string_view what, absl::string_view key)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::unique_ptr<SqliteDb> db_ ABSL_GUARDED_BY(mu_);
};

}  // namespace kura::gateway
