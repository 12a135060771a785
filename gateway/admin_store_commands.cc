// kura-admin users|projects|schemas|grants|terminals|nodes|audit ...: the store's commands.

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/crypto.h"
#include "common/status.h"
#include "disclosure/schema.h"
#include "gateway/admin_commands.h"
#include "gateway/audit.h"
#include "gateway/pki.h"
#include "gateway/pki_files.h"
#include "gateway/totp.h"

namespace kura::gateway::admin {
namespace {

std::string Utc(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// YYYY-MM-DD (midnight UTC) or RFC 3339.
absl::StatusOr<absl::Time> ParseUtcTime(absl::string_view flag, absl::string_view text) {
  absl::Time t;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, std::string(text), &t, &error) ||
      absl::ParseTime("%Y-%m-%d", std::string(text), absl::UTCTimeZone(), &t, &error)) {
    return t;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "--", flag, " '", text, "' is not YYYY-MM-DD or RFC 3339 (2026-04-01T09:00:00Z)"));
}

std::string Roles(const UserRecord& user) {
  std::vector<std::string> names;
  for (Role role : user.roles) names.emplace_back(RoleName(role));
  return absl::StrJoin(names, ",");
}

CommandOutcome Outcome(std::string subject, nlohmann::json details = nlohmann::json::object()) {
  return {std::move(subject), details.dump()};
}

// What `schemas add` records of a schema directory's manifest.
struct ApprovedManifest {
  DataClass data_class;
  std::string sha256;  // of schema.json's bytes, lowercase hex
};

// The schema directory as the node will find it (node/workspace_spec.cc, VerifySchemaManifest):
// a directory, and in it a regular schema.json, neither of them a symbolic link, since the node
// refuses to mount a schema otherwise; a link could also later point at another manifest than
// the one approved.
absl::Status CheckSchemaDirectory(const std::string& dir, const std::string& manifest) {
  if (dir.empty() || dir.front() != '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        "--path '", dir, "' is not absolute; the node mounts the directory by this path"));
  }
  struct stat st;
  if (::lstat(dir.c_str(), &st) != 0) return ErrnoError("lstat", dir);
  if (!S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat(dir, " is not a directory (a symbolic link is refused, as the node does)"));
  }
  if (::lstat(manifest.c_str(), &st) != 0) return ErrnoError("lstat", manifest);
  if (S_ISLNK(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(
        manifest, " is a symbolic link; the node refuses to mount it: copy the manifest in"));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat(manifest, " is not a regular file"));
  }
  return absl::OkStatus();
}

// Loads `dir`'s manifest with the parser every reader of the schema uses and reads every record
// of its tables, so that a direct identifier, a malformed manifest or table is refused here with
// that parser's message. The digest is the node's: Sha256FileHex of `dir`/schema.json. It is
// taken before and after loading, so the class recorded is the one of the bytes hashed.
absl::StatusOr<ApprovedManifest> LoadApprovedManifest(const std::string& dir) {
  const std::string manifest = absl::StrCat(dir, "/schema.json");
  KURA_RETURN_IF_ERROR(CheckSchemaDirectory(dir, manifest));
  KURA_ASSIGN_OR_RETURN(std::string before, Sha256FileHex(manifest));
  KURA_ASSIGN_OR_RETURN(disclosure::Schema schema, disclosure::LoadSchema(dir));
  KURA_RETURN_IF_ERROR(disclosure::VerifySchemaData(schema));
  KURA_RETURN_IF_ERROR(CheckSchemaDirectory(dir, manifest));
  KURA_ASSIGN_OR_RETURN(std::string after, Sha256FileHex(manifest));
  if (after != before) {
    return absl::FailedPreconditionError(
        absl::StrCat(manifest, " changed while it was read; register it once it is final"));
  }
  KURA_ASSIGN_OR_RETURN(DataClass data_class,
                        ParseDataClass(disclosure::DataClassName(schema.data_class)));
  return ApprovedManifest{data_class, after};
}

}  // namespace

absl::StatusOr<std::string> Positional(const CommandContext& context, size_t index,
                                       absl::string_view what) {
  const std::vector<std::string>& words = context.args.positional();
  if (words.size() <= index + 2) return absl::InvalidArgumentError(absl::StrCat("missing ", what));
  return words[index + 2];
}

// ---- users ----------------------------------------------------------------------------------

absl::StatusOr<CommandOutcome> UsersAdd(CommandContext& context) {
  KURA_ASSIGN_OR_RETURN(std::string name, Positional(context, 0, "the user's NAME"));
  KURA_RETURN_IF_ERROR(Annotate(ValidatePeerId(name), "user name"));
  UserRecord user;
  user.name = name;
  user.created = context.now;
  for (const std::string& role : context.args.Flags("role")) {
    KURA_ASSIGN_OR_RETURN(Role parsed, ParseRole(role));
    user.roles.push_back(parsed);
  }
  if (user.roles.empty()) return absl::InvalidArgumentError("give at least one --role");
  bool totp = context.args.Flag("no-totp").value_or("no") != "yes";
  if (totp) {
    KURA_ASSIGN_OR_RETURN(user.totp_secret, NewTotpSecret());
  }
  KURA_RETURN_IF_ERROR(context.store->CreateUser(user));
  context.out << "added user '" << name << "' (" << Roles(user) << ")\n";
  if (totp) {
    context.out << "TOTP provisioning URI (shown once; hand it over as a QR code):\n  "
                << TotpProvisioningUri("kura", name, user.totp_secret) << "\n";
  }
  return Outcome(absl::StrCat("user:", name), {{"roles", Roles(user)}, {"totp", totp}});
}

absl::StatusOr<CommandOutcome> UsersUnlock(CommandContext& context) {
  KURA_ASSIGN_OR_RETURN(std::string name, Positional(context, 0, "the user's NAME"));
  KURA_RETURN_IF_ERROR(context.store->SetUserLocked(name, false));
  context.out << "unlocked '" << name << "' and cleared its failed attempts\n";
  return Outcome(absl::StrCat("user:", name));
}

absl::StatusOr<CommandOutcome> UsersList(CommandContext& context) {
  KURA_ASSIGN_OR_RETURN(std::vector<UserRecord> users, context.store->ListUsers());
  for (const UserRecord& u : users) {
    context.out << u.name << "\t" << Roles(u) << "\t" << (u.locked ? "locked" : "active")
                << "\tfailed=" << u.failed_attempts << "\n";
  }
  return Outcome("users");
}

absl::StatusOr<CommandOutcome> UsersLock(CommandContext& context) {
  KURA_ASSIGN_OR_RETURN(std::string name, Positional(context, 0, "the user's NAME"));
  KURA_RETURN_IF_ERROR(context.store->SetUserLocked(name, true));
  KURA_ASSIGN_OR_RETURN(int ended, context.store->RevokeUserSessions(name));
  context.out << "locked '" << name << "' and ended " << ended << " session(s)\n";
  return Outcome(absl::StrCat("user:", name), {{"sessions_ended", ended}});
}

// ---- sessions -------------------------------------------------------------------------------

absl::StatusOr<CommandOutcome> SessionsList(CommandContext& context) {
  KURA_ASSIGN_OR_RETURN(std::string user, Positional(context, 0, "USER"));
  KURA_ASSIGN_OR_RETURN(std::vector<SessionRecord> sessions, context.store->ListSessions(user));
  for (const SessionRecord& s : sessions) {
    context.out << s.id << "\t" << s.terminal_id << "\tcreated=" << Utc(s.created)
                << "\tlast_used=" << Utc(s.last_used) << "\t" << (s.revoked ? "ended" : "live")
                << "\n";
  }
  return Outcome(absl::StrCat("user:", user));
}

absl::StatusOr<CommandOutcome> SessionsRevoke(CommandContext& context) {
  KURA_ASSIGN_OR_RETURN(std::string user, Positional(context, 0, "USER"));
  std::optional<std::string> id_text = context.args.Flag("id");
  if (!id_text.has_value()) {
    KURA_ASSIGN_OR_RETURN(int ended, context.store->RevokeUserSessions(user));
    context.out << "ended " << ended << " session(s) of '" << user << "'\n";
    return Outcome(absl::StrCat("user:", user), {{"sessions_ended", ended}});
  }
  int64_t id = 0;
  if (!absl::SimpleAtoi(*id_text, &id)) {
    return absl::InvalidArgumentError(absl::StrCat("--id '", *id_text, "' is not a number"));
  }
  // Only a session of USER, so a typo in the id cannot end someone else's.
  KURA_ASSIGN_OR_RETURN(std::vector<SessionRecord> sessions, context.store->ListSessions(user));
  bool found = false;
  for (const SessionRecord& s : sessions) found = found || s.id == id;
  if (!found) {
    return absl::NotFoundError(absl::StrCat("'", user, "' has no session ", id));
  }
  KURA_RETURN_IF_ERROR(context.store->RevokeSession(id));
  context.out << "ended session " << id << " of '" << user << "'\n";
  return Outcome(absl::StrCat("user:", user), {{"session", id}});
}

// ---- projects, schemas and grants -----------------------------------------------------------

absl::StatusOr<CommandOutcome> ProjectsAdd(CommandContext& context) {
  KURA_ASSIGN_OR_RETURN(std::string name, Positional(context, 0, "the project's NAME"));
  KURA_RETURN_IF_ERROR(Annotate(ValidatePeerId(name), "project name"));
  ProjectRecord project{name, context.args.Flag("description").value_or(""), context.now};
  KURA_RETURN_IF_ERROR(context.store->CreateProject(project));
  context.out << "added project '" << name << "'\n";
  return Outcome(absl::StrCat("project:", name));
}

absl::StatusOr<CommandOutcome> ProjectsAddMember(CommandContext& context) {
  KURA_ASSIGN_OR_RETURN(std::string project, Positional(context, 0, "PROJECT"));
  KURA_ASSIGN_OR_RETURN(std::string user, Positional(context, 1, "USER"));
  KURA_RETURN_IF_ERROR(context.store->AddProjectMember(project, user));
  context.out << "'" << user << "' is now a member of project '" << project << "'\n";
  return Outcome(absl::StrCat("project:", project), {{"member", user}});
}

absl::StatusOr<CommandOutcome> ProjectsList(CommandContext& context) {
  KURA_ASSIGN_OR_RETURN(std::vector<ProjectRecord> projects, context.store->ListProjects());
  for (const ProjectRecord& p : projects) {
    KURA_ASSIGN_OR_RETURN(std::vector<std::string> members,
                          context.store->ListProjectMembers(p.name));
    context.out << p.name << "\tmembers=" << absl::StrJoin(members, ",") << "\t" << p.description
                << "\n";
  }
  return Outcome("projects");
}

absl::StatusOr<CommandOutcome> SchemasAdd(CommandContext& context) {
  SchemaRecord schema;
  KURA_ASSIGN_OR_RETURN(schema.name, Positional(context, 0, "the schema's NAME"));
  KURA_RETURN_IF_ERROR(Annotate(ValidatePeerId(schema.name), "schema name"));
  KURA_ASSIGN_OR_RETURN(schema.path, context.args.Required("path"));
  KURA_ASSIGN_OR_RETURN(ApprovedManifest manifest, LoadApprovedManifest(schema.path));
  schema.data_class = manifest.data_class;
  schema.manifest_sha256 = manifest.sha256;
  const std::string data_class(DataClassName(schema.data_class));
  // --class and --manifest-sha256 are optional: given, they must say what the manifest does,
  // so an operator who approved one manifest cannot register another by mistake.
  if (std::optional<std::string> given = context.args.Flag("class"); given.has_value()) {
    KURA_ASSIGN_OR_RETURN(DataClass expected, ParseDataClass(*given));
    if (expected != schema.data_class) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--class ", *given, " disagrees with ", schema.path, "/schema.json, whose data_class is ",
          data_class, "; correct the manifest or leave out --class"));
    }
  }
  if (std::optional<std::string> given = context.args.Flag("manifest-sha256"); given.has_value()) {
    if (absl::AsciiStrToLower(*given) != schema.manifest_sha256) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--manifest-sha256 ", *given, " is not the SHA-256 of ", schema.path,
          "/schema.json, which is ", schema.manifest_sha256, "; the manifest has changed"));
    }
  }
  schema.registered = context.now;
  KURA_RETURN_IF_ERROR(context.store->RegisterSchema(schema));
  context.out << "registered schema '" << schema.name << "' (" << data_class << ")\n";
  return Outcome(
      absl::StrCat("schema:", schema.name),
      {{"class", data_class}, {"path", schema.path}, {"manifest_sha256", schema.manifest_sha256}});
}

absl::StatusOr<CommandOutcome> SchemasList(CommandContext& context) {
  KURA_ASSIGN_OR_RETURN(std::vector<SchemaRecord> schemas, context.store->ListSchemas());
  for (const SchemaRecord& s : schemas) {
    context.out << s.name << "\t" << DataClassName(s.data_class) << "\t" << s.path << "\n";
  }
  return Outcome("schemas");
}

absl::StatusOr<CommandOutcome> GrantsAdd(CommandContext& context) {
  GrantRecord grant;
  KURA_ASSIGN_OR_RETURN(grant.project, Positional(context, 0, "PROJECT"));
  KURA_ASSIGN_OR_RETURN(grant.schema, Positional(context, 1, "SCHEMA"));
  KURA_ASSIGN_OR_RETURN(std::string from, context.args.Required("from"));
  KURA_ASSIGN_OR_RETURN(std::string to, context.args.Required("to"));
  KURA_ASSIGN_OR_RETURN(grant.valid_from, ParseUtcTime("from", from));
  KURA_ASSIGN_OR_RETURN(grant.valid_to, ParseUtcTime("to", to));
  grant.created = context.now;
  KURA_ASSIGN_OR_RETURN(int64_t id, context.store->AddGrant(grant));
  context.out << "grant " << id << ": project '" << grant.project << "' may use schema '"
              << grant.schema << "' from " << Utc(grant.valid_from) << " to " << Utc(grant.valid_to)
              << "\n";
  return Outcome(absl::StrCat("project:", grant.project), {{"grant", id},
                                                           {"schema", grant.schema},
                                                           {"valid_from", Utc(grant.valid_from)},
                                                           {"valid_to", Utc(grant.valid_to)}});
}

absl::StatusOr<CommandOutcome> GrantsList(CommandContext& context) {
  KURA_ASSIGN_OR_RETURN(std::string project, Positional(context, 0, "PROJECT"));
  KURA_ASSIGN_OR_RETURN(std::vector<GrantRecord> grants, context.store->ListGrants(project));
  for (const GrantRecord& g : grants) {
    context.out << g.id << "\t" << g.schema << "\t" << Utc(g.valid_from) << "\t" << Utc(g.valid_to)
                << "\n";
  }
  return Outcome(absl::StrCat("project:", project));
}

// ---- terminals and nodes --------------------------------------------------------------------

absl::StatusOr<CommandOutcome> TerminalsAdd(CommandContext& context) {
  KURA_ASSIGN_OR_RETURN(std::string path, context.args.Required("cert"));
  KURA_ASSIGN_OR_RETURN(std::string pem, ReadTextFile(path));
  KURA_ASSIGN_OR_RETURN(PeerIdentity identity, ParsePeerIdentity(pem));
  if (identity.role != PeerRole::kTerminal) {
    return absl::InvalidArgumentError(absl::StrCat(path, " is a ", PeerRoleName(identity.role),
                                                   " certificate, not a terminal's"));
  }
  TerminalRecord terminal{identity.id, identity.terminal_class, identity.serial, false, {},
                          context.now};
  KURA_RETURN_IF_ERROR(context.store->AddTerminal(terminal));
  context.out << "registered terminal '" << identity.id << "' ("
              << TerminalClassName(identity.terminal_class) << ", serial " << identity.serial
              << ")\n";
  return Outcome(absl::StrCat("terminal:", identity.id),
                 {{"serial", identity.serial},
                  {"class", std::string(TerminalClassName(identity.terminal_class))}});
}

absl::StatusOr<CommandOutcome> TerminalsRevoke(CommandContext& context) {
  KURA_ASSIGN_OR_RETURN(std::string id, Positional(context, 0, "the terminal's ID"));
  KURA_RETURN_IF_ERROR(context.store->RevokeTerminal(id, context.now));
  context.out << "terminal '" << id << "' and its certificate are revoked\n";
  return Outcome(absl::StrCat("terminal:", id));
}

absl::StatusOr<CommandOutcome> TerminalsList(CommandContext& context) {
  KURA_ASSIGN_OR_RETURN(std::vector<TerminalRecord> terminals, context.store->ListTerminals());
  for (const TerminalRecord& t : terminals) {
    context.out << t.id << "\t" << TerminalClassName(t.terminal_class) << "\t"
                << t.certificate_serial << "\t" << (t.revoked ? "revoked" : "active") << "\n";
  }
  return Outcome("terminals");
}

absl::StatusOr<CommandOutcome> NodesList(CommandContext& context) {
  KURA_ASSIGN_OR_RETURN(std::vector<NodeRecord> nodes, context.store->ListNodes());
  for (const NodeRecord& n : nodes) {
    std::vector<std::string> devices;
    for (const Device& d : n.capacity.devices) {
      devices.push_back(absl::StrCat(d.kind, ":", d.model, ":", d.id));
    }
    context.out << n.id << "\t" << n.address << "\tcpus=" << n.capacity.millicpus / 1000.0
                << "\tmemory=" << (n.capacity.memory_bytes >> 20)
                << "MiB\tdevices=" << (devices.empty() ? "-" : absl::StrJoin(devices, ",")) << "\t"
                << (n.cordoned ? "cordoned" : "schedulable") << "\theartbeat="
                << (n.last_heartbeat.has_value() ? Utc(*n.last_heartbeat) : "never") << "\n";
  }
  return Outcome("nodes");
}

absl::StatusOr<CommandOutcome> NodesCordon(CommandContext& context) {
  KURA_ASSIGN_OR_RETURN(std::string id, Positional(context, 0, "the node's ID"));
  KURA_RETURN_IF_ERROR(context.store->SetNodeCordoned(id, true));
  context.out << "node '" << id << "' is cordoned: no new workspaces are placed on it\n";
  return Outcome(absl::StrCat("node:", id));
}

absl::StatusOr<CommandOutcome> NodesUncordon(CommandContext& context) {
  KURA_ASSIGN_OR_RETURN(std::string id, Positional(context, 0, "the node's ID"));
  KURA_RETURN_IF_ERROR(context.store->SetNodeCordoned(id, false));
  context.out << "node '" << id << "' takes workspaces again\n";
  return Outcome(absl::StrCat("node:", id));
}

// ---- audit ----------------------------------------------------------------------------------

absl::StatusOr<CommandOutcome> AuditVerify(CommandContext& context) {
  std::optional<AuditAnchor> anchor;
  if (std::optional<std::string> text = context.args.Flag("anchor"); text.has_value()) {
    std::vector<std::string> parts = absl::StrSplit(*text, absl::MaxSplits(':', 1));
    AuditAnchor parsed;
    if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &parsed.seq) || parts[1].size() != 64) {
      return absl::InvalidArgumentError("--anchor must be SEQ:HASH (as audit verify prints it)");
    }
    parsed.hash = parts[1];
    anchor = parsed;
  }
  KURA_ASSIGN_OR_RETURN(std::vector<AuditEvent> events, context.store->ListAuditEvents());
  AuditChainReport report = VerifyAuditChain(events, anchor);
  if (!report.intact) {
    return absl::DataLossError(absl::StrCat("audit log BROKEN at seq ", report.broken_seq, ": ",
                                            report.problem, " (", report.events,
                                            " events before it verified)"));
  }
  context.out << "audit log intact: " << report.events << " events\n"
              << "head (keep it to detect a cut-off tail later): --anchor " << report.head_seq
              << ":" << report.head_hash << "\n";
  return Outcome("audit");
}

}  // namespace kura::gateway::admin
