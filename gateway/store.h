#pragma once

// The gateway's state behind one interface, so that the SQLite default (sqlite_store.h) and a
// PostgreSQL store later are interchangeable. Implementations are thread-safe.
//
// Error convention for every method: NotFound names the missing record ("no user 'bob'"),
// AlreadyExists the duplicate, InvalidArgument a malformed value, Internal a storage failure.
// Operations that must not race (TOTP step, nonce, failure counter, audit append) are atomic.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "gateway/records.h"

namespace kura::gateway {

class Store {
 public:
  virtual ~Store() = default;

  // ---- users ----
  virtual absl::Status CreateUser(const UserRecord& user) = 0;
  virtual absl::StatusOr<UserRecord> GetUser(absl::string_view name) = 0;
  virtual absl::StatusOr<std::vector<UserRecord>> ListUsers() = 0;
  // Counts one failed second factor at `now`; locks the account when the count reaches
  // `lock_after`. Returns the user as updated.
  virtual absl::StatusOr<UserRecord> RecordFactorFailure(absl::string_view name, absl::Time now,
                                                         int lock_after) = 0;
  // Clears the failure count after a successful login.
  virtual absl::Status RecordFactorSuccess(absl::string_view name) = 0;
  // Locks or unlocks; unlocking also clears the failure count.
  virtual absl::Status SetUserLocked(absl::string_view name, bool locked) = 0;
  // Accepts TOTP step `step` for `name` only if it is later than the last accepted one, and
  // remembers it. AlreadyExists when the step (or a later one) was already used.
  virtual absl::Status ConsumeTotpStep(absl::string_view name, int64_t step) = 0;
  // The TOTP secret of `name` (raw bytes; empty when none is enrolled), opened from its sealed
  // form. NotFound for an unknown user, after the same work as for a known one. Internal when
  // the secrets key is missing or does not open the stored secret (never a plaintext fallback).
  virtual absl::StatusOr<std::string> GetTotpSecret(absl::string_view name) = 0;
  // The login throttle of a name that is no user (all zero when it never failed), so that
  // backoff and lockout treat unknown names as users (login.h).
  virtual absl::StatusOr<LoginThrottle> GetUnknownNameThrottle(absl::string_view name) = 0;
  // Counts one failed login under the unknown name `name` at `now`, locking it at
  // `lock_after`; returns the throttle as updated. At most `capacity` names are kept: beyond
  // that the least recently failed ones are forgotten, unlocked names before locked ones.
  virtual absl::StatusOr<LoginThrottle> RecordUnknownNameFailure(absl::string_view name,
                                                                 absl::Time now, int lock_after,
                                                                 int capacity) = 0;

  // ---- projects ----
  virtual absl::Status CreateProject(const ProjectRecord& project) = 0;
  virtual absl::StatusOr<ProjectRecord> GetProject(absl::string_view name) = 0;
  virtual absl::StatusOr<std::vector<ProjectRecord>> ListProjects() = 0;
  virtual absl::Status AddProjectMember(absl::string_view project, absl::string_view user) = 0;
  virtual absl::StatusOr<std::vector<std::string>> ListProjectMembers(
      absl::string_view project) = 0;
  virtual absl::StatusOr<std::vector<std::string>> ListProjectsOfUser(absl::string_view user) = 0;

  // ---- schemas and grants ----
  virtual absl::Status RegisterSchema(const SchemaRecord& schema) = 0;
  virtual absl::StatusOr<SchemaRecord> GetSchema(absl::string_view name) = 0;
  virtual absl::StatusOr<std::vector<SchemaRecord>> ListSchemas() = 0;
  // Returns the new grant's id. InvalidArgument when valid_to <= valid_from.
  virtual absl::StatusOr<int64_t> AddGrant(const GrantRecord& grant) = 0;
  virtual absl::StatusOr<std::vector<GrantRecord>> ListGrants(absl::string_view project) = 0;

  // ---- terminals, nodes and revoked certificates ----
  virtual absl::Status AddTerminal(const TerminalRecord& terminal) = 0;
  virtual absl::StatusOr<TerminalRecord> GetTerminal(absl::string_view id) = 0;
  virtual absl::StatusOr<std::vector<TerminalRecord>> ListTerminals() = 0;
  // Marks the terminal revoked and its certificate serial revoked, at once.
  virtual absl::Status RevokeTerminal(absl::string_view id, absl::Time now) = 0;
  virtual absl::Status RevokeCertificate(absl::string_view serial, absl::string_view reason,
                                         absl::Time now) = 0;
  virtual absl::StatusOr<std::vector<std::string>> ListRevokedSerials() = 0;

  // Registers a node or updates its serial, address and capacity (cordon state and heartbeat
  // are kept).
  virtual absl::Status UpsertNode(const NodeRecord& node) = 0;
  virtual absl::StatusOr<NodeRecord> GetNode(absl::string_view id) = 0;
  virtual absl::StatusOr<std::vector<NodeRecord>> ListNodes() = 0;
  virtual absl::Status SetNodeCordoned(absl::string_view id, bool cordoned) = 0;
  virtual absl::Status RecordHeartbeat(absl::string_view id, absl::Time now) = 0;

  // ---- sessions ----
  // Returns the new session's id. AlreadyExists if the token hash is taken.
  virtual absl::StatusOr<int64_t> CreateSession(const SessionRecord& session) = 0;
  virtual absl::StatusOr<SessionRecord> GetSessionByTokenHash(absl::string_view token_hash) = 0;
  virtual absl::StatusOr<std::vector<SessionRecord>> ListSessions(absl::string_view user) = 0;
  virtual absl::Status TouchSession(int64_t id, absl::Time now) = 0;
  virtual absl::Status RevokeSession(int64_t id) = 0;
  // Revokes every live session of `user`; returns how many.
  virtual absl::StatusOr<int> RevokeUserSessions(absl::string_view user) = 0;

  // ---- one-time nonces (broker assertions) ----
  // Records `nonce` in `scope` until `expires`; forgets expired ones first. AlreadyExists when
  // it is still remembered, i.e. a replay.
  virtual absl::Status ConsumeNonce(absl::string_view scope, absl::string_view nonce,
                                    absl::Time expires, absl::Time now) = 0;

  // ---- workspaces ----
  virtual absl::Status CreateWorkspace(const WorkspaceRecord& workspace) = 0;
  virtual absl::StatusOr<WorkspaceRecord> GetWorkspace(absl::string_view id) = 0;
  // All workspaces, or those on `node` when given.
  virtual absl::StatusOr<std::vector<WorkspaceRecord>> ListWorkspaces(
      std::optional<std::string> node) = 0;
  virtual absl::Status SetWorkspaceState(absl::string_view id, WorkspaceState state,
                                         absl::Time now) = 0;

  // ---- export requests and votes ----
  // Stores `request` as a new request (version 1) and returns its id.
  virtual absl::StatusOr<int64_t> CreateExport(const ExportRecord& request) = 0;
  // Stores `request` as the next version of request `request.id` (its votes start empty) and
  // returns the version. In one transaction with the checks that the latest version is still
  // `based_on` and in a state that takes a new version (checked, in_review, consolidation,
  // changes_requested): FailedPrecondition otherwise (a vote or another version got there
  // first). NotFound for an unknown id.
  virtual absl::StatusOr<int> AddExportVersion(const ExportRecord& request, int based_on) = 0;
  // The latest version of request `id`.
  virtual absl::StatusOr<ExportRecord> GetExport(int64_t id) = 0;
  // Every version of request `id`, oldest first.
  virtual absl::StatusOr<std::vector<ExportRecord>> ListExportVersions(int64_t id) = 0;
  // The latest version of each request of `project`, or of every project when empty.
  virtual absl::StatusOr<std::vector<ExportRecord>> ListExports(absl::string_view project) = 0;
  // Sets the state of the latest version, only if it is still `from` (FailedPrecondition
  // otherwise: someone else moved it first).
  virtual absl::Status SetExportState(int64_t id, ExportState from, ExportState to,
                                      absl::Time now) = 0;
  // Records a vote and returns the round it was stored as, in one transaction with the checks
  // that `vote.version` is still the latest version (FailedPrecondition naming the latest) and
  // that the request takes the vote: while checked or in_review, a first vote (round 1;
  // AlreadyExists when this reviewer already voted on this file of this version); while in
  // consolidation, a revision by a reviewer who voted on the file (the next round;
  // FailedPrecondition for anyone else); in any other state FailedPrecondition.
  virtual absl::StatusOr<int> AddExportVote(const ExportVoteRecord& vote) = 0;
  // The votes on version `version` of request `id`, every round, in the order cast.
  virtual absl::StatusOr<std::vector<ExportVoteRecord>> ListExportVotes(int64_t id,
                                                                        int version) = 0;
  // Records a comment on an existing version (NotFound otherwise).
  virtual absl::Status AddExportComment(const ExportCommentRecord& comment) = 0;
  // The comments on version `version` of request `id`, in the order made.
  virtual absl::StatusOr<std::vector<ExportCommentRecord>> ListExportComments(int64_t id,
                                                                              int version) = 0;

  // ---- audit ----
  // Appends one event to the hash chain (audit.h) atomically and returns it as stored.
  virtual absl::StatusOr<AuditEvent> AppendAuditEvent(const AuditEntry& entry, absl::Time now) = 0;
  // Every event in seq order, as stored (not verified: see VerifyAuditChain).
  virtual absl::StatusOr<std::vector<AuditEvent>> ListAuditEvents() = 0;
};

}  // namespace kura::gateway
