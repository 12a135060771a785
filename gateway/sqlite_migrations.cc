// The store's schema, as numbered migrations. Never edit a released migration: add one.

#include <nlohmann/json.hpp>

#include "gateway/sqlite_store_internal.h"

namespace kura::gateway::sqlite_internal {

namespace {

constexpr char kVersion1[] = R"sql(
CREATE TABLE users (
  name TEXT PRIMARY KEY,
  totp_secret_hex TEXT NOT NULL DEFAULT '',
  locked INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),
  failed_attempts INTEGER NOT NULL DEFAULT 0,
  last_failure_us INTEGER,
  last_totp_step INTEGER NOT NULL DEFAULT -1,
  created_us INTEGER NOT NULL
) STRICT;

CREATE TABLE user_roles (
  user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
  role TEXT NOT NULL CHECK (role IN ('researcher', 'reviewer', 'operator')),
  PRIMARY KEY (user, role)
) STRICT;

CREATE TABLE projects (
  name TEXT PRIMARY KEY,
  description TEXT NOT NULL DEFAULT '',
  created_us INTEGER NOT NULL
) STRICT;

CREATE TABLE project_members (
  project TEXT NOT NULL REFERENCES projects(name) ON DELETE CASCADE,
  user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,
  PRIMARY KEY (project, user)
) STRICT;

CREATE TABLE schemas (
  name TEXT PRIMARY KEY,
  data_class TEXT NOT NULL CHECK (data_class IN ('anonymized', 'pseudonymized')),
  path TEXT NOT NULL,
  manifest_sha256 TEXT NOT NULL,
  registered_us INTEGER NOT NULL
) STRICT;

CREATE TABLE grants (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  project TEXT NOT NULL REFERENCES projects(name),
  schema TEXT NOT NULL REFERENCES schemas(name),
  valid_from_us INTEGER NOT NULL,
  valid_to_us INTEGER NOT NULL,
  created_us INTEGER NOT NULL,
  CHECK (valid_to_us > valid_from_us)
) STRICT;
CREATE INDEX grants_by_project ON grants(project);

CREATE TABLE terminals (
  id TEXT PRIMARY KEY,
  class TEXT NOT NULL CHECK (class IN ('standard', 'dedicated')),
  certificate_serial TEXT NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1)),
  revoked_at_us INTEGER,
  registered_us INTEGER NOT NULL
) STRICT;

CREATE TABLE revoked_certificates (
  serial TEXT PRIMARY KEY,
  reason TEXT NOT NULL,
  revoked_at_us INTEGER NOT NULL
) STRICT;

CREATE TABLE nodes (
  id TEXT PRIMARY KEY,
  certificate_serial TEXT NOT NULL,
  address TEXT NOT NULL,
  millicpus INTEGER NOT NULL CHECK (millicpus >= 0),
  memory_bytes INTEGER NOT NULL CHECK (memory_bytes >= 0),
  devices_json TEXT NOT NULL DEFAULT '[]',
  cordoned INTEGER NOT NULL DEFAULT 0 CHECK (cordoned IN (0, 1)),
  last_heartbeat_us INTEGER,
  registered_us INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  token_hash TEXT NOT NULL UNIQUE,
  user TEXT NOT NULL REFERENCES users(name),
  terminal_id TEXT NOT NULL,
  terminal_fingerprint TEXT NOT NULL,
  created_us INTEGER NOT NULL,
  last_used_us INTEGER NOT NULL,
  revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))
) STRICT;
CREATE INDEX sessions_by_user ON sessions(user);

CREATE TABLE nonces (
  scope TEXT NOT NULL,
  nonce TEXT NOT NULL,
  expires_us INTEGER NOT NULL,
  PRIMARY KEY (scope, nonce)
) STRICT;

CREATE TABLE workspaces (
  id TEXT PRIMARY KEY,
  project TEXT NOT NULL REFERENCES projects(name),
  user TEXT NOT NULL REFERENCES users(name),
  node TEXT NOT NULL REFERENCES nodes(id),
  state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'closing', 'closed', 'failed')),
  millicpus INTEGER NOT NULL,
  memory_bytes INTEGER NOT NULL,
  devices_json TEXT NOT NULL DEFAULT '[]',
  created_us INTEGER NOT NULL,
  updated_us INTEGER NOT NULL
) STRICT;
CREATE INDEX workspaces_by_node ON workspaces(node);

CREATE TABLE audit_events (
  seq INTEGER PRIMARY KEY,
  time_us INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  subject TEXT NOT NULL,
  outcome TEXT NOT NULL,
  details TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
) STRICT;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
  BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
  BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
)sql";

// Export requests (one row per version; a changed file makes a new version) and the reviewers'
// votes, per file and version.
constexpr char kVersion2[] = R"sql(
CREATE TABLE export_requests (
  id INTEGER NOT NULL,
  version INTEGER NOT NULL CHECK (version >= 1),
  project TEXT NOT NULL REFERENCES projects(name),
  author TEXT NOT NULL REFERENCES users(name),
  workspace TEXT NOT NULL,
  justification TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('submitted', 'checked', 'in_review', 'approved',
                                       'changes_requested', 'rejected', 'withdrawn')),
  snapshot_id TEXT NOT NULL,
  files_json TEXT NOT NULL,
  report_json TEXT NOT NULL,
  verdict TEXT NOT NULL,
  policy_name TEXT NOT NULL,
  policy_sha256 TEXT NOT NULL,
  checker_version TEXT NOT NULL,
  schemas_json TEXT NOT NULL,
  required_reviewers INTEGER NOT NULL CHECK (required_reviewers >= 1),
  created_us INTEGER NOT NULL,
  updated_us INTEGER NOT NULL,
  PRIMARY KEY (id, version)
) STRICT;
CREATE INDEX export_requests_by_project ON export_requests(project);

CREATE TABLE export_votes (
  request_id INTEGER NOT NULL,
  version INTEGER NOT NULL,
  reviewer TEXT NOT NULL REFERENCES users(name),
  file TEXT NOT NULL,
  decision TEXT NOT NULL CHECK (decision IN ('approve', 'request_changes', 'reject')),
  comment TEXT NOT NULL,
  override_reason TEXT NOT NULL,
  time_us INTEGER NOT NULL,
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  UNIQUE (request_id, version, reviewer, file),
  FOREIGN KEY (request_id, version) REFERENCES export_requests(id, version)
) STRICT;
)sql";

// Consolidation (a state, and votes revised in rounds), the workspace image of each version,
// and comments without a vote. SQLite cannot change a CHECK or UNIQUE constraint in place, so
// both export tables are rebuilt: the new ones are filled, the old dropped (votes first: they
// refer to the requests), and the new renamed, which also renames the votes' reference.
constexpr char kVersion3[] = R"sql(
CREATE TABLE export_requests_v3 (
  id INTEGER NOT NULL,
  version INTEGER NOT NULL CHECK (version >= 1),
  project TEXT NOT NULL REFERENCES projects(name),
  author TEXT NOT NULL REFERENCES users(name),
  workspace TEXT NOT NULL,
  justification TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('submitted', 'checked', 'in_review', 'consolidation',
                                       'approved', 'changes_requested', 'rejected',
                                       'withdrawn')),
  snapshot_id TEXT NOT NULL,
  files_json TEXT NOT NULL,
  report_json TEXT NOT NULL,
  verdict TEXT NOT NULL,
  policy_name TEXT NOT NULL,
  policy_sha256 TEXT NOT NULL,
  checker_version TEXT NOT NULL,
  schemas_json TEXT NOT NULL,
  required_reviewers INTEGER NOT NULL CHECK (required_reviewers >= 1),
  created_us INTEGER NOT NULL,
  updated_us INTEGER NOT NULL,
  image_json TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (id, version)
) STRICT;
INSERT INTO export_requests_v3 (id, version, project, author, workspace, justification, state,
    snapshot_id, files_json, report_json, verdict, policy_name, policy_sha256, checker_version,
    schemas_json, required_reviewers, created_us, updated_us)
  SELECT id, version, project, author, workspace, justification, state, snapshot_id, files_json,
    report_json, verdict, policy_name, policy_sha256, checker_version, schemas_json,
    required_reviewers, created_us, updated_us FROM export_requests;

CREATE TABLE export_votes_v3 (
  request_id INTEGER NOT NULL,
  version INTEGER NOT NULL,
  reviewer TEXT NOT NULL REFERENCES users(name),
  file TEXT NOT NULL,
  decision TEXT NOT NULL CHECK (decision IN ('approve', 'request_changes', 'reject')),
  comment TEXT NOT NULL,
  override_reason TEXT NOT NULL,
  time_us INTEGER NOT NULL,
  round INTEGER NOT NULL DEFAULT 1 CHECK (round >= 1),
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  UNIQUE (request_id, version, reviewer, file, round),
  FOREIGN KEY (request_id, version) REFERENCES export_requests_v3(id, version)
) STRICT;
INSERT INTO export_votes_v3 (request_id, version, reviewer, file, decision, comment,
    override_reason, time_us, seq)
  SELECT request_id, version, reviewer, file, decision, comment, override_reason, time_us, seq
  FROM export_votes;

DROP TABLE export_votes;
DROP TABLE export_requests;
ALTER TABLE export_requests_v3 RENAME TO export_requests;
ALTER TABLE export_votes_v3 RENAME TO export_votes;
CREATE INDEX export_requests_by_project ON export_requests(project);

CREATE TABLE export_comments (
  request_id INTEGER NOT NULL,
  version INTEGER NOT NULL,
  author TEXT NOT NULL REFERENCES users(name),
  file TEXT NOT NULL,
  text TEXT NOT NULL CHECK (length(text) > 0),
  time_us INTEGER NOT NULL,
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  FOREIGN KEY (request_id, version) REFERENCES export_requests(id, version)
) STRICT;
)sql";

// Failed logins under names that are no user, throttled like users' (login_guard.h) so that
// backoff and lockout do not tell the two apart. Keyed by the name's SHA-256, so a row has a
// fixed size whatever name was typed; the store keeps a bounded number of rows.
//
// users.totp_secret_hex keeps its name: since version 4 it holds "v1:" + hex(AES-256-GCM
// sealed secret) (totp.h). SQL cannot encrypt, so rows still in plaintext hex are sealed by
// SqliteStore::Open, not here.
constexpr char kVersion4[] = R"sql(
CREATE TABLE unknown_login_names (
  name_sha256 TEXT PRIMARY KEY,
  failed_attempts INTEGER NOT NULL CHECK (failed_attempts > 0),
  last_failure_us INTEGER NOT NULL,
  locked INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1))
) STRICT;
CREATE INDEX unknown_login_names_by_age ON unknown_login_names(locked, last_failure_us);
)sql";

}  // namespace

const std::vector<std::string>& Migrations() {
  static const std::vector<std::string>* migrations =
      new std::vector<std::string>{kVersion1, kVersion2, kVersion3, kVersion4};
  return *migrations;
}

std::string DevicesToJson(const std::vector<Device>& devices) {
  nlohmann::json array = nlohmann::json::array();
  for (const Device& d : devices) {
    array.push_back({{"kind", d.kind}, {"model", d.model}, {"id", d.id}});
  }
  return array.dump();
}

absl::StatusOr<std::vector<Device>> DevicesFromJson(absl::string_view json) {
  try {
    nlohmann::json array = nlohmann::json::parse(json.begin(), json.end());
    std::vector<Device> devices;
    for (const nlohmann::json& d : array) {
      devices.push_back({d.at("kind").get<std::string>(), d.at("model").get<std::string>(),
                         d.at("id").get<std::string>()});
    }
    return devices;
  } catch (const nlohmann::json::exception& e) {
    return absl::DataLossError(absl::StrCat("stored device list is malformed: ", e.what()));
  }
}

}  // namespace kura::gateway::sqlite_internal
