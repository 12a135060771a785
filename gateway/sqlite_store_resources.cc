// SqliteStore: schemas, grants, terminals, revoked certificates, nodes and workspaces.

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "gateway/sqlite_store.h"
#include "gateway/sqlite_store_internal.h"

namespace kura::gateway {

using sqlite_internal::DevicesFromJson;
using sqlite_internal::DevicesToJson;
using sqlite_internal::Micros;
using sqlite_internal::NotFound;
using sqlite_internal::OptionalTimeAt;
using sqlite_internal::Text;
using sqlite_internal::TimeAt;

namespace {

absl::Status Duplicate(absl::Status status, absl::string_view what, absl::string_view key) {
  if (absl::IsAlreadyExists(status)) {
    return absl::AlreadyExistsError(absl::StrCat(what, " '", key, "' already exists"));
  }
  return status;
}

absl::StatusOr<SchemaRecord> SchemaFromRow(const SqlRow& row) {
  SchemaRecord schema;
  schema.name = row.Text(0);
  KURA_ASSIGN_OR_RETURN(schema.data_class, ParseDataClass(row.Text(1)));
  schema.path = row.Text(2);
  schema.manifest_sha256 = row.Text(3);
  schema.registered = TimeAt(row, 4);
  return schema;
}

absl::StatusOr<TerminalRecord> TerminalFromRow(const SqlRow& row) {
  TerminalRecord terminal;
  terminal.id = row.Text(0);
  KURA_ASSIGN_OR_RETURN(terminal.terminal_class, ParseTerminalClass(row.Text(1)));
  terminal.certificate_serial = row.Text(2);
  terminal.revoked = row.Int(3) != 0;
  terminal.revoked_at = OptionalTimeAt(row, 4);
  terminal.registered = TimeAt(row, 5);
  return terminal;
}

constexpr char kNodeColumns[] =
    "id, certificate_serial, address, millicpus, memory_bytes, devices_json, cordoned, "
    "last_heartbeat_us, registered_us";

absl::StatusOr<NodeRecord> NodeFromRow(const SqlRow& row) {
  NodeRecord node;
  node.id = row.Text(0);
  node.certificate_serial = row.Text(1);
  node.address = row.Text(2);
  node.capacity.millicpus = row.Int(3);
  node.capacity.memory_bytes = row.Int(4);
  KURA_ASSIGN_OR_RETURN(node.capacity.devices, DevicesFromJson(row.Text(5)));
  node.cordoned = row.Int(6) != 0;
  node.last_heartbeat = OptionalTimeAt(row, 7);
  node.registered = TimeAt(row, 8);
  return node;
}

constexpr char kWorkspaceColumns[] =
    "id, project, user, node, state, millicpus, memory_bytes, devices_json, created_us, "
    "updated_us";

absl::StatusOr<WorkspaceRecord> WorkspaceFromRow(const SqlRow& row) {
  WorkspaceRecord workspace;
  workspace.id = row.Text(0);
  workspace.project = row.Text(1);
  workspace.user = row.Text(2);
  workspace.node = row.Text(3);
  KURA_ASSIGN_OR_RETURN(workspace.state, ParseWorkspaceState(row.Text(4)));
  workspace.resources.millicpus = row.Int(5);
  workspace.resources.memory_bytes = row.Int(6);
  KURA_ASSIGN_OR_RETURN(workspace.resources.devices, DevicesFromJson(row.Text(7)));
  workspace.created = TimeAt(row, 8);
  workspace.updated = TimeAt(row, 9);
  return workspace;
}

template <typename T, typename F>
absl::StatusOr<std::vector<T>> MapRows(const std::vector<SqlRow>& rows, F from_row) {
  std::vector<T> out;
  for (const SqlRow& row : rows) {
    KURA_ASSIGN_OR_RETURN(T value, from_row(row));
    out.push_back(std::move(value));
  }
  return out;
}

}  // namespace

// ---- schemas and grants ---------------------------------------------------------------------

absl::Status SqliteStore::RegisterSchema(const SchemaRecord& schema) {
  if (schema.name.empty() || schema.path.empty() || schema.manifest_sha256.size() != 64) {
    return absl::InvalidArgumentError(
        "a schema needs a name, a path and the manifest's SHA-256 (64 hex digits)");
  }
  absl::MutexLock lock(&mu_);
  return Duplicate(
      db_->Execute("INSERT INTO schemas (name, data_class, path, manifest_sha256, registered_us) "
                   "VALUES (?, ?, ?, ?, ?)",
                   {Text(schema.name), Text(DataClassName(schema.data_class)), Text(schema.path),
                    Text(schema.manifest_sha256), Micros(schema.registered)})
          .status(),
      "schema", schema.name);
}

absl::StatusOr<SchemaRecord> SqliteStore::GetSchema(absl::string_view name) {
  absl::MutexLock lock(&mu_);
  KURA_ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                        db_->Query("SELECT name, data_class, path, manifest_sha256, registered_us "
                                   "FROM schemas WHERE name = ?",
                                   {Text(name)}));
  if (rows.empty()) return NotFound("schema", name);
  return SchemaFromRow(rows[0]);
}

absl::StatusOr<std::vector<SchemaRecord>> SqliteStore::ListSchemas() {
  absl::MutexLock lock(&mu_);
  KURA_ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                        db_->Query("SELECT name, data_class, path, manifest_sha256, registered_us "
                                   "FROM schemas ORDER BY name"));
  return MapRows<SchemaRecord>(rows, SchemaFromRow);
}

absl::StatusOr<int64_t> SqliteStore::AddGrant(const GrantRecord& grant) {
  if (grant.valid_to <= grant.valid_from) {
    return absl::InvalidArgumentError("a grant's valid_to must be after its valid_from");
  }
  absl::MutexLock lock(&mu_);
  KURA_RETURN_IF_ERROR(RequireRow("projects", "name", "project", grant.project));
  KURA_RETURN_IF_ERROR(RequireRow("schemas", "name", "schema", grant.schema));
  KURA_RETURN_IF_ERROR(
      db_->Execute("INSERT INTO grants (project, schema, valid_from_us, "
                   "valid_to_us, created_us) VALUES (?, ?, ?, ?, ?)",
                   {Text(grant.project), Text(grant.schema), Micros(grant.valid_from),
                    Micros(grant.valid_to), Micros(grant.created)})
          .status());
  return db_->LastInsertRowId();
}

absl::StatusOr<std::vector<GrantRecord>> SqliteStore::ListGrants(absl::string_view project) {
  absl::MutexLock lock(&mu_);
  KURA_RETURN_IF_ERROR(RequireRow("projects", "name", "project", project));
  KURA_ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      db_->Query("SELECT id, project, schema, valid_from_us, valid_to_us, created_us "
                 "FROM grants WHERE project = ? ORDER BY id",
                 {Text(project)}));
  std::vector<GrantRecord> grants;
  for (const SqlRow& row : rows) {
    grants.push_back(
        {row.Int(0), row.Text(1), row.Text(2), TimeAt(row, 3), TimeAt(row, 4), TimeAt(row, 5)});
  }
  return grants;
}

// ---- terminals and revoked certificates -----------------------------------------------------

absl::Status SqliteStore::AddTerminal(const TerminalRecord& terminal) {
  KURA_RETURN_IF_ERROR(ValidatePeerId(terminal.id));
  if (terminal.terminal_class == TerminalClass::kNone) {
    return absl::InvalidArgumentError("a terminal needs a class (standard|dedicated)");
  }
  absl::MutexLock lock(&mu_);
  return Duplicate(
      db_->Execute("INSERT INTO terminals (id, class, certificate_serial, registered_us) "
                   "VALUES (?, ?, ?, ?)",
                   {Text(terminal.id), Text(TerminalClassName(terminal.terminal_class)),
                    Text(terminal.certificate_serial), Micros(terminal.registered)})
          .status(),
      "terminal", terminal.id);
}

absl::StatusOr<TerminalRecord> SqliteStore::GetTerminal(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  KURA_ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                        db_->Query("SELECT id, class, certificate_serial, revoked, revoked_at_us, "
                                   "registered_us FROM terminals WHERE id = ?",
                                   {Text(id)}));
  if (rows.empty()) return NotFound("terminal", id);
  return TerminalFromRow(rows[0]);
}

absl::StatusOr<std::vector<TerminalRecord>> SqliteStore::ListTerminals() {
  absl::MutexLock lock(&mu_);
  KURA_ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                        db_->Query("SELECT id, class, certificate_serial, revoked, revoked_at_us, "
                                   "registered_us FROM terminals ORDER BY id"));
  return MapRows<TerminalRecord>(rows, TerminalFromRow);
}

absl::Status SqliteStore::RevokeTerminal(absl::string_view id, absl::Time now) {
  absl::MutexLock lock(&mu_);
  return db_->Transaction([&]() -> absl::Status {
    KURA_ASSIGN_OR_RETURN(
        std::vector<SqlRow> rows,
        db_->Query("SELECT certificate_serial FROM terminals WHERE id = ?", {Text(id)}));
    if (rows.empty()) return NotFound("terminal", id);
    KURA_RETURN_IF_ERROR(db_->Execute("UPDATE terminals SET revoked = 1, revoked_at_us = "
                                      "COALESCE(revoked_at_us, ?) WHERE id = ?",
                                      {Micros(now), Text(id)})
                             .status());
    return db_
        ->Execute(
            "INSERT OR IGNORE INTO revoked_certificates (serial, reason, "
            "revoked_at_us) VALUES (?, ?, ?)",
            {rows[0].Text(0), absl::StrCat("terminal ", id, " revoked"), Micros(now)})
        .status();
  });
}

absl::Status SqliteStore::RevokeCertificate(absl::string_view serial, absl::string_view reason,
                                            absl::Time now) {
  if (serial.empty()) return absl::InvalidArgumentError("a certificate serial is needed");
  absl::MutexLock lock(&mu_);
  return db_
      ->Execute(
          "INSERT OR IGNORE INTO revoked_certificates (serial, reason, "
          "revoked_at_us) VALUES (?, ?, ?)",
          {Text(serial), Text(reason), Micros(now)})
      .status();
}

absl::StatusOr<std::vector<std::string>> SqliteStore::ListRevokedSerials() {
  absl::MutexLock lock(&mu_);
  KURA_ASSIGN_OR_RETURN(std::vector<SqlRow> rows,
                        db_->Query("SELECT serial FROM revoked_certificates ORDER BY serial"));
  std::vector<std::string> serials;
  for (const SqlRow& row : rows) serials.push_back(row.Text(0));
  return serials;
}

// ---- nodes ----------------------------------------------------------------------------------

absl::Status SqliteStore::UpsertNode(const NodeRecord& node) {
  KURA_RETURN_IF_ERROR(ValidatePeerId(node.id));
  absl::MutexLock lock(&mu_);
  return db_
      ->Execute(
          "INSERT INTO nodes (id, certificate_serial, address, millicpus, memory_bytes, "
          "devices_json, registered_us) VALUES (?, ?, ?, ?, ?, ?, ?) "
          "ON CONFLICT (id) DO UPDATE SET certificate_serial = excluded.certificate_serial, "
          "address = excluded.address, millicpus = excluded.millicpus, "
          "memory_bytes = excluded.memory_bytes, devices_json = excluded.devices_json",
          {Text(node.id), Text(node.certificate_serial), Text(node.address),
           node.capacity.millicpus, node.capacity.memory_bytes,
           DevicesToJson(node.capacity.devices), Micros(node.registered)})
      .status();
}

absl::StatusOr<NodeRecord> SqliteStore::GetNode(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  KURA_ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      db_->Query(absl::StrCat("SELECT ", kNodeColumns, " FROM nodes WHERE id = ?"), {Text(id)}));
  if (rows.empty()) return NotFound("node", id);
  return NodeFromRow(rows[0]);
}

absl::StatusOr<std::vector<NodeRecord>> SqliteStore::ListNodes() {
  absl::MutexLock lock(&mu_);
  KURA_ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      db_->Query(absl::StrCat("SELECT ", kNodeColumns, " FROM nodes ORDER BY id")));
  return MapRows<NodeRecord>(rows, NodeFromRow);
}

absl::Status SqliteStore::SetNodeCordoned(absl::string_view id, bool cordoned) {
  absl::MutexLock lock(&mu_);
  KURA_ASSIGN_OR_RETURN(int changed, db_->Execute("UPDATE nodes SET cordoned = ? WHERE id = ?",
                                                  {int64_t{cordoned}, Text(id)}));
  if (changed == 0) return NotFound("node", id);
  return absl::OkStatus();
}

absl::Status SqliteStore::RecordHeartbeat(absl::string_view id, absl::Time now) {
  absl::MutexLock lock(&mu_);
  KURA_ASSIGN_OR_RETURN(
      int changed,
      db_->Execute("UPDATE nodes SET last_heartbeat_us = ? WHERE id = ?", {Micros(now), Text(id)}));
  if (changed == 0) return NotFound("node", id);
  return absl::OkStatus();
}

// ---- workspaces -----------------------------------------------------------------------------

absl::Status SqliteStore::CreateWorkspace(const WorkspaceRecord& workspace) {
  if (workspace.id.empty()) return absl::InvalidArgumentError("a workspace needs an id");
  absl::MutexLock lock(&mu_);
  KURA_RETURN_IF_ERROR(RequireRow("projects", "name", "project", workspace.project));
  KURA_RETURN_IF_ERROR(RequireRow("users", "name", "user", workspace.user));
  KURA_RETURN_IF_ERROR(RequireRow("nodes", "id", "node", workspace.node));
  return Duplicate(db_->Execute(absl::StrCat("INSERT INTO workspaces (", kWorkspaceColumns,
                                             ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                                {Text(workspace.id), Text(workspace.project), Text(workspace.user),
                                 Text(workspace.node), Text(WorkspaceStateName(workspace.state)),
                                 workspace.resources.millicpus, workspace.resources.memory_bytes,
                                 DevicesToJson(workspace.resources.devices),
                                 Micros(workspace.created), Micros(workspace.updated)})
                       .status(),
                   "workspace", workspace.id);
}

absl::StatusOr<WorkspaceRecord> SqliteStore::GetWorkspace(absl::string_view id) {
  absl::MutexLock lock(&mu_);
  KURA_ASSIGN_OR_RETURN(
      std::vector<SqlRow> rows,
      db_->Query(absl::StrCat("SELECT ", kWorkspaceColumns, " FROM workspaces WHERE id = ?"),
                 {Text(id)}));
  if (rows.empty()) return NotFound("workspace", id);
  return WorkspaceFromRow(rows[0]);
}

absl::StatusOr<std::vector<WorkspaceRecord>> SqliteStore::ListWorkspaces(
    std::optional<std::string> node) {
  absl::MutexLock lock(&mu_);
  std::string sql = absl::StrCat("SELECT ", kWorkspaceColumns, " FROM workspaces");
  std::vector<SqlValue> params;
  if (node.has_value()) {
    sql += " WHERE node = ?";
    params.push_back(*node);
  }
  sql += " ORDER BY id";
  KURA_ASSIGN_OR_RETURN(std::vector<SqlRow> rows, db_->Query(sql, params));
  return MapRows<WorkspaceRecord>(rows, WorkspaceFromRow);
}

absl::Status SqliteStore::SetWorkspaceState(absl::string_view id, WorkspaceState state,
                                            absl::Time now) {
  absl::MutexLock lock(&mu_);
  KURA_ASSIGN_OR_RETURN(int changed,
                        db_->Execute("UPDATE workspaces SET state = ?, updated_us = ? WHERE id = ?",
                                     {Text(WorkspaceStateName(state)), Micros(now), Text(id)}));
  if (changed == 0) return NotFound("workspace", id);
  return absl::OkStatus();
}

}  // namespace kura::gateway
