#pragma once

// The commands of kura-admin, one function each, dispatched by admin.cc. Internal to
// kura_gateway. A command prints its result to `out` and returns what the audit event about
// it records (subject and details); admin.cc writes that event.

#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/admin_args.h"
#include "gateway/store.h"

namespace kura::gateway::admin {

struct CommandContext {
  const AdminArgs& args;
  std::ostream& out;
  absl::Time now;
  Store* store;  // null for commands that need none (pki without --store)
};

struct CommandOutcome {
  std::string subject;              // e.g. "user:alice"
  std::string details_json = "{}";  // what the audit event adds
};

// The n-th positional word after the group and verb, or InvalidArgument naming `what`.
absl::StatusOr<std::string> Positional(const CommandContext& context, size_t index,
                                       absl::string_view what);

absl::StatusOr<CommandOutcome> PkiInit(CommandContext& context);
absl::StatusOr<CommandOutcome> PkiIssueGateway(CommandContext& context);
absl::StatusOr<CommandOutcome> PkiIssueNode(CommandContext& context);
absl::StatusOr<CommandOutcome> PkiIssueTerminal(CommandContext& context);
absl::StatusOr<CommandOutcome> PkiRevoke(CommandContext& context);
absl::StatusOr<CommandOutcome> PkiCrl(CommandContext& context);
absl::StatusOr<CommandOutcome> PkiRegisterBroker(CommandContext& context);

absl::StatusOr<CommandOutcome> UsersAdd(CommandContext& context);
absl::StatusOr<CommandOutcome> UsersUnlock(CommandContext& context);
absl::StatusOr<CommandOutcome> UsersList(CommandContext& context);
absl::StatusOr<CommandOutcome> UsersLock(CommandContext& context);
absl::StatusOr<CommandOutcome> SessionsList(CommandContext& context);
absl::StatusOr<CommandOutcome> SessionsRevoke(CommandContext& context);
absl::StatusOr<CommandOutcome> ProjectsAdd(CommandContext& context);
absl::StatusOr<CommandOutcome> ProjectsAddMember(CommandContext& context);
absl::StatusOr<CommandOutcome> ProjectsList(CommandContext& context);
absl::StatusOr<CommandOutcome> SchemasAdd(CommandContext& context);
absl::StatusOr<CommandOutcome> SchemasList(CommandContext& context);
absl::StatusOr<CommandOutcome> GrantsAdd(CommandContext& context);
absl::StatusOr<CommandOutcome> GrantsList(CommandContext& context);
absl::StatusOr<CommandOutcome> TerminalsAdd(CommandContext& context);
absl::StatusOr<CommandOutcome> TerminalsRevoke(CommandContext& context);
absl::StatusOr<CommandOutcome> TerminalsList(CommandContext& context);
absl::StatusOr<CommandOutcome> NodesList(CommandContext& context);
absl::StatusOr<CommandOutcome> NodesCordon(CommandContext& context);
absl::StatusOr<CommandOutcome> NodesUncordon(CommandContext& context);
absl::StatusOr<CommandOutcome> AuditVerify(CommandContext& context);

}  // namespace kura::gateway::admin
