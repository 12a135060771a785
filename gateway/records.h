#pragma once

// The gateway's records: what the store keeps, as plain values. No behaviour here; the rules
// over these records live in policy.h, scheduler.h, session.h and audit.h.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gateway/pki.h"

namespace kura::gateway {

enum class Role { kResearcher, kReviewer, kOperator };
absl::string_view RoleName(Role role);
absl::StatusOr<Role> ParseRole(absl::string_view text);

// What the login guard (login_guard.h) counts, for a user or for a name that is no user.
struct LoginThrottle {
  bool locked = false;
  int failed_attempts = 0;                   // consecutive failed logins
  std::optional<absl::Time> last_failure{};  // time of the latest of them
};

struct UserRecord {
  std::string name{};
  std::vector<Role> roles{};
  // Raw bytes (20 for SHA-1); empty for no TOTP factor. Only CreateUser reads it (and stores
  // it sealed); GetUser and ListUsers leave it empty: the secret is opened only at login,
  // through Store::GetTotpSecret.
  std::string totp_secret{};
  bool locked = false;
  int failed_attempts = 0;                   // consecutive failed second factors
  std::optional<absl::Time> last_failure{};  // time of the latest of them
  int64_t last_totp_step = -1;               // RFC 6238 step of the last accepted code
  absl::Time created{};

  bool HasRole(Role role) const;
  LoginThrottle throttle() const { return {locked, failed_attempts, last_failure}; }
};

struct ProjectRecord {
  std::string name{};
  std::string description{};
  absl::Time created{};
};

enum class DataClass { kAnonymized, kPseudonymized };
absl::string_view DataClassName(DataClass data_class);
absl::StatusOr<DataClass> ParseDataClass(absl::string_view text);

// A registered dataset: a directory with its manifest (parsed by disclosure/schema.h).
struct SchemaRecord {
  std::string name{};
  DataClass data_class = DataClass::kAnonymized;
  std::string path{};             // the schema directory on the nodes
  std::string manifest_sha256{};  // of schema.json, at registration
  absl::Time registered{};
};

// A data permit's window: `project` may use `schema` from valid_from (inclusive) to valid_to
// (exclusive).
struct GrantRecord {
  int64_t id = 0;  // assigned by the store
  std::string project{};
  std::string schema{};
  absl::Time valid_from{};
  absl::Time valid_to{};
  absl::Time created{};
};

struct TerminalRecord {
  std::string id{};
  TerminalClass terminal_class = TerminalClass::kStandard;
  std::string certificate_serial{};  // lowercase hex, as PeerIdentity::serial
  bool revoked = false;
  std::optional<absl::Time> revoked_at{};
  absl::Time registered{};
};

// An accelerator or other device a node offers, e.g. {"gpu", "nvidia-h100", "0"}.
struct Device {
  std::string kind{};   // "gpu", "npu", ...
  std::string model{};  // free text, matched exactly when a request names one
  std::string id{};     // unique within the node

  bool operator==(const Device&) const = default;
};

// What a node offers or a workspace holds.
struct Resources {
  int64_t millicpus = 0;
  int64_t memory_bytes = 0;
  std::vector<Device> devices{};

  bool operator==(const Resources&) const = default;
};

struct NodeRecord {
  std::string id{};
  std::string certificate_serial{};
  std::string address{};  // host:port of the node's API
  Resources capacity{};
  bool cordoned = false;
  std::optional<absl::Time> last_heartbeat{};
  absl::Time registered{};
};

struct SessionRecord {
  int64_t id = 0;            // assigned by the store
  std::string token_hash{};  // lowercase hex SHA-256 of the token; the token itself is never kept
  std::string user{};
  std::string terminal_id{};
  std::string terminal_fingerprint{};  // SHA-256 of the terminal certificate that logged in
  absl::Time created{};
  absl::Time last_used{};
  bool revoked = false;
};

enum class WorkspaceState { kPending, kRunning, kClosing, kClosed, kFailed };
absl::string_view WorkspaceStateName(WorkspaceState state);
absl::StatusOr<WorkspaceState> ParseWorkspaceState(absl::string_view text);

struct WorkspaceRecord {
  std::string id{};
  std::string project{};
  std::string user{};
  std::string node{};
  WorkspaceState state = WorkspaceState::kPending;
  Resources resources{};  // what it holds on its node (devices: the ones assigned to it)
  absl::Time created{};
  absl::Time updated{};
};

// What a caller asks to be recorded; the audit log adds seq, time and the hashes.
struct AuditEntry {
  std::string actor{};    // "user:alice", "operator:root", "node:n1", "terminal:vdi-01", ...
  std::string action{};   // "login", "workspace.open", "grant.add", ...
  std::string subject{};  // what it acted on, e.g. "project:cancer-2026"
  std::string outcome{};  // "ok", "denied", "failed"
  std::string details_json = "{}";  // a JSON object
};

struct AuditEvent {
  int64_t seq = 0;
  absl::Time time{};
  AuditEntry entry{};
  std::string prev_hash{};  // hex SHA-256 of the previous event; 64 zeros for the first
  std::string hash{};       // hex SHA-256 over the canonical form, see audit.h
};

// An export request's life (docs/export.md): submitted -> checked -> in_review -> approved |
// changes_requested | rejected, or consolidation when the reviewers disagree (and from there to
// one of the three once they agree); withdrawn by its author before a decision.
enum class ExportState {
  kSubmitted,
  kChecked,
  kInReview,
  kConsolidation,
  kApproved,
  kChangesRequested,
  kRejected,
  kWithdrawn
};
absl::string_view ExportStateName(ExportState state);
absl::StatusOr<ExportState> ParseExportState(absl::string_view text);

// One version of an export request: the node's snapshot of the files and the checker's report.
struct ExportRecord {
  int64_t id = 0;  // assigned by the store
  int version = 1;
  std::string project{};
  std::string author{};
  std::string workspace{};
  std::string justification{};
  ExportState state = ExportState::kSubmitted;
  std::string snapshot_id{};    // the node's content hash of the files
  std::string files_json = "[]";  // [{"path","size","sha256"}]
  std::string report_json{};    // the checker's report (docs/disclosure-report.md)
  std::string verdict{};        // pass | review | fail
  std::string policy_name{};
  std::string policy_sha256{};
  std::string checker_version{};
  std::string schemas_json = "[]";  // [{"name","manifest_sha256","data_class"}]
  int required_reviewers = 1;
  std::string image_json = "{}";  // the workspace image: {"name","digest","components"}
  absl::Time created{};
  absl::Time updated{};
};

enum class VoteDecision { kApprove, kRequestChanges, kReject };
absl::string_view VoteDecisionName(VoteDecision decision);
absl::StatusOr<VoteDecision> ParseVoteDecision(absl::string_view text);

// A reviewer's decision on one file of one version of an export request.
struct ExportVoteRecord {
  int64_t request_id = 0;
  int version = 1;
  std::string reviewer{};
  std::string file{};
  VoteDecision decision = VoteDecision::kApprove;
  std::string comment{};
  std::string override_reason{};  // required to approve a file the checker failed
  absl::Time time{};
  // 1: the reviewer's independent vote; 2 and up: a revision in consolidation (assigned by the
  // store). The highest round of a reviewer on a file is the vote that counts.
  int round = 1;
};

// A comment on one version of an export request, or one of its files, without a vote.
struct ExportCommentRecord {
  int64_t request_id = 0;
  int version = 1;
  std::string author{};
  std::string file{};  // empty: the request as a whole
  std::string text{};
  absl::Time time{};
};

}  // namespace kura::gateway
