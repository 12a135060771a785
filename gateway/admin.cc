#include "gateway/admin.h"

#include <memory>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "gateway/admin_args.h"
#include "gateway/admin_commands.h"
#include "gateway/sqlite_store.h"

namespace kura::gateway {
namespace {

using admin::CommandContext;
using admin::CommandOutcome;

enum class StoreUse { kNone, kOptional, kRequired };

struct Command {
  const char* group;
  const char* verb;
  const char* synopsis;
  StoreUse store;
  bool audited;       // changes state: write an audit event
  size_t positional;  // words after GROUP VERB
  std::vector<std::string> flags;
  absl::StatusOr<CommandOutcome> (*run)(CommandContext&);
};

const std::vector<Command>& Commands() {
  // clang-format off
  static const std::vector<Command>* commands = new std::vector<Command>{
      {"pki", "init", "--dir DIR [--days N] [--store FILE]",
       StoreUse::kOptional, true, 0, {"dir", "days", "store"}, admin::PkiInit},
      {"pki", "issue-gateway", "--dir DIR [--id gateway] --dns NAME... --ip ADDR... [--days N]",
       StoreUse::kOptional, true, 0, {"dir", "id", "dns", "ip", "days", "store"},
       admin::PkiIssueGateway},
      {"pki", "issue-node", "--dir DIR --id ID [--dns NAME...] [--ip ADDR...] [--days N]",
       StoreUse::kOptional, true, 0, {"dir", "id", "dns", "ip", "days", "store"},
       admin::PkiIssueNode},
      {"pki", "issue-terminal",
       "--dir DIR --id ID --class standard|dedicated [--days N] [--store FILE (registers it)]",
       StoreUse::kOptional, true, 0, {"dir", "id", "class", "days", "store"},
       admin::PkiIssueTerminal},
      {"pki", "revoke",
       "--store FILE (--serial HEX | --cert FILE) [--reason TEXT] [--dir DIR (rewrites the CRL)]",
       StoreUse::kRequired, true, 0, {"store", "serial", "cert", "reason", "dir", "out", "days"},
       admin::PkiRevoke},
      {"pki", "crl", "--dir DIR --store FILE [--out FILE (DIR/crl.pem)] [--days N (7)]",
       StoreUse::kRequired, true, 0, {"dir", "store", "out", "days"}, admin::PkiCrl},
      {"pki", "register-broker", "--dir DIR --public-key HEX [--store FILE]",
       StoreUse::kOptional, true, 0, {"dir", "public-key", "store"}, admin::PkiRegisterBroker},
      {"users", "add", "NAME --role researcher|reviewer|operator... [--no-totp yes] --store FILE",
       StoreUse::kRequired, true, 1, {"store", "role", "no-totp"}, admin::UsersAdd},
      {"users", "unlock", "NAME --store FILE",
       StoreUse::kRequired, true, 1, {"store"}, admin::UsersUnlock},
      {"users", "lock", "NAME --store FILE (also ends the user's sessions)",
       StoreUse::kRequired, true, 1, {"store"}, admin::UsersLock},
      {"sessions", "list", "USER --store FILE",
       StoreUse::kRequired, false, 1, {"store"}, admin::SessionsList},
      {"sessions", "revoke", "USER [--id N] --store FILE (all of USER's sessions without --id)",
       StoreUse::kRequired, true, 1, {"store", "id"}, admin::SessionsRevoke},
      {"users", "list", "--store FILE",
       StoreUse::kRequired, false, 0, {"store"}, admin::UsersList},
      {"projects", "add", "NAME [--description TEXT] --store FILE",
       StoreUse::kRequired, true, 1, {"store", "description"}, admin::ProjectsAdd},
      {"projects", "add-member", "PROJECT USER --store FILE",
       StoreUse::kRequired, true, 2, {"store"}, admin::ProjectsAddMember},
      {"projects", "list", "--store FILE",
       StoreUse::kRequired, false, 0, {"store"}, admin::ProjectsList},
      {"schemas", "add",
       "NAME --path DIR [--class anonymized|pseudonymized] [--manifest-sha256 HEX] --store FILE"
       " (class and digest from DIR/schema.json)",
       StoreUse::kRequired, true, 1, {"store", "class", "path", "manifest-sha256"},
       admin::SchemasAdd},
      {"schemas", "list", "--store FILE",
       StoreUse::kRequired, false, 0, {"store"}, admin::SchemasList},
      {"grants", "add", "PROJECT SCHEMA --from TIME --to TIME --store FILE",
       StoreUse::kRequired, true, 2, {"store", "from", "to"}, admin::GrantsAdd},
      {"grants", "list", "PROJECT --store FILE",
       StoreUse::kRequired, false, 1, {"store"}, admin::GrantsList},
      {"terminals", "add", "--cert FILE --store FILE",
       StoreUse::kRequired, true, 0, {"store", "cert"}, admin::TerminalsAdd},
      {"terminals", "revoke", "ID --store FILE",
       StoreUse::kRequired, true, 1, {"store"}, admin::TerminalsRevoke},
      {"terminals", "list", "--store FILE",
       StoreUse::kRequired, false, 0, {"store"}, admin::TerminalsList},
      {"nodes", "list", "--store FILE",
       StoreUse::kRequired, false, 0, {"store"}, admin::NodesList},
      {"nodes", "cordon", "ID --store FILE",
       StoreUse::kRequired, true, 1, {"store"}, admin::NodesCordon},
      {"nodes", "uncordon", "ID --store FILE",
       StoreUse::kRequired, true, 1, {"store"}, admin::NodesUncordon},
      {"audit", "verify", "--store FILE [--anchor SEQ:HASH]",
       StoreUse::kRequired, false, 0, {"store", "anchor"}, admin::AuditVerify},
  };
  // clang-format on
  return *commands;
}

void PrintUsage(std::ostream& err) {
  err << "usage: kura-admin GROUP VERB [ARGS]\n";
  for (const Command& c : Commands()) {
    err << "  kura-admin " << c.group << " " << c.verb << " " << c.synopsis << "\n";
  }
  err << "TIME is YYYY-MM-DD or RFC 3339 (2026-04-01T09:00:00Z), in UTC.\n";
}

const Command* FindCommand(const std::vector<std::string>& positional) {
  if (positional.size() < 2) return nullptr;
  for (const Command& c : Commands()) {
    if (positional[0] == c.group && positional[1] == c.verb) return &c;
  }
  return nullptr;
}

// Records the command's outcome; a failure to audit is itself a failure of the command.
absl::Status AuditCommand(Store& store, const Command& command, const AdminEnvironment& env,
                          absl::Time now, const absl::StatusOr<CommandOutcome>& outcome) {
  AuditEntry entry;
  entry.actor = env.actor;
  entry.action = absl::StrCat(command.group, ".", command.verb);
  if (outcome.ok()) {
    entry.subject = outcome->subject;
    entry.outcome = "ok";
    entry.details_json = outcome->details_json;
  } else {
    entry.outcome = "failed";
    entry.details_json = nlohmann::json{{"error", std::string(outcome.status().message())}}.dump();
  }
  return store.AppendAuditEvent(entry, now).status();
}

absl::StatusOr<std::unique_ptr<SqliteStore>> OpenStoreFor(const Command& command,
                                                          const AdminArgs& args) {
  std::optional<std::string> path = args.Flag("store");
  if (command.store == StoreUse::kNone ||
      (!path.has_value() && command.store == StoreUse::kOptional)) {
    return std::unique_ptr<SqliteStore>();
  }
  if (!path.has_value() || path->empty()) {
    return absl::InvalidArgumentError("--store is required");
  }
  return SqliteStore::Open(*path);
}

}  // namespace

int RunAdmin(const std::vector<std::string>& argv, AdminEnvironment& env) {
  absl::StatusOr<AdminArgs> args = AdminArgs::Parse(argv);
  const Command* command = args.ok() ? FindCommand(args->positional()) : nullptr;
  if (command == nullptr) {
    if (!args.ok()) env.err << "kura-admin: " << args.status().message() << "\n";
    PrintUsage(env.err);
    return kAdminExitUsage;
  }
  if (absl::Status only = args->CheckOnly(command->flags); !only.ok()) {
    env.err << "kura-admin " << command->group << " " << command->verb << ": " << only.message()
            << "\nusage: kura-admin " << command->group << " " << command->verb << " "
            << command->synopsis << "\n";
    return kAdminExitUsage;
  }
  if (args->positional().size() != command->positional + 2) {
    env.err << "kura-admin " << command->group << " " << command->verb << ": expected "
            << command->positional << " argument(s) besides the options\nusage: kura-admin "
            << command->group << " " << command->verb << " " << command->synopsis << "\n";
    return kAdminExitUsage;
  }
  absl::StatusOr<std::unique_ptr<SqliteStore>> store = OpenStoreFor(*command, *args);
  if (!store.ok()) {
    env.err << "kura-admin: " << store.status().message() << "\n";
    return absl::IsInvalidArgument(store.status()) ? kAdminExitUsage : kAdminExitFailed;
  }
  absl::Time now = env.clock();
  CommandContext context{*args, env.out, now, store->get()};
  absl::StatusOr<CommandOutcome> outcome = command->run(context);
  if (command->audited && *store != nullptr) {
    absl::Status audited = AuditCommand(**store, *command, env, now, outcome);
    if (!audited.ok()) {
      env.err << "kura-admin: could not write the audit event: " << audited.message() << "\n";
      return kAdminExitFailed;
    }
  }
  if (!outcome.ok()) {
    env.err << "kura-admin " << command->group << " " << command->verb << ": "
            << outcome.status().message() << "\n";
    if (absl::IsDataLoss(outcome.status())) return kAdminExitAuditBroken;
    // InvalidArgument: something given on the command line (or a file it names) is wrong.
    return absl::IsInvalidArgument(outcome.status()) ? kAdminExitUsage : kAdminExitFailed;
  }
  return kAdminExitOk;
}

}  // namespace kura::gateway
