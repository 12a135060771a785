#include "gateway/policy.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace kura::gateway {
namespace {

const SchemaRecord* FindSchema(const std::vector<SchemaRecord>& schemas, absl::string_view name) {
  for (const SchemaRecord& schema : schemas) {
    if (schema.name == name) return &schema;
  }
  return nullptr;
}

bool GrantedNow(const std::vector<GrantRecord>& grants, absl::string_view schema, absl::Time now) {
  return std::any_of(grants.begin(), grants.end(), [&](const GrantRecord& g) {
    return g.schema == schema && GrantValidAt(g, now);
  });
}

std::string PseudonymizedRefusal(absl::string_view schema, TerminalClass terminal_class) {
  return absl::StrCat("schema '", schema,
                      "' is pseudonymized and may be used only from a dedicated terminal; this "
                      "terminal is ",
                      terminal_class == TerminalClass::kStandard ? "standard" : "not dedicated");
}

std::string Time(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", t, absl::UTCTimeZone());
}

}  // namespace

absl::Status CheckProjectMember(const UserRecord& user, absl::string_view project,
                                const std::vector<std::string>& members) {
  if (std::find(members.begin(), members.end(), user.name) != members.end()) {
    return absl::OkStatus();
  }
  return absl::PermissionDeniedError(
      absl::StrCat("'", user.name, "' is not a member of project '", project, "'"));
}

absl::Status CheckRole(const UserRecord& user, Role role, absl::string_view action) {
  if (user.HasRole(role)) return absl::OkStatus();
  std::vector<std::string> has;
  for (Role r : user.roles) has.emplace_back(RoleName(r));
  return absl::PermissionDeniedError(
      absl::StrCat(action, " needs the ", RoleName(role), " role; '", user.name, "' has ",
                   has.empty() ? std::string("none") : absl::StrJoin(has, ", ")));
}

bool GrantValidAt(const GrantRecord& grant, absl::Time now) {
  return grant.valid_from <= now && now < grant.valid_to;
}

MountPlan PlanWorkspaceMounts(absl::string_view project, const std::vector<GrantRecord>& grants,
                              const std::vector<SchemaRecord>& schemas,
                              TerminalClass terminal_class, absl::Time now) {
  MountPlan plan;
  std::vector<std::string> names;
  for (const GrantRecord& grant : grants) {
    if (grant.project == project) names.push_back(grant.schema);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  for (const std::string& name : names) {
    absl::Status access = CheckSchemaAccess(project, name, grants, schemas, terminal_class, now);
    if (access.ok()) {
      plan.mounts.push_back(*FindSchema(schemas, name));
    } else {
      plan.withheld.emplace_back(access.message());
    }
  }
  return plan;
}

absl::Status CheckSchemaAccess(absl::string_view project, absl::string_view schema,
                               const std::vector<GrantRecord>& grants,
                               const std::vector<SchemaRecord>& schemas,
                               TerminalClass terminal_class, absl::Time now) {
  const SchemaRecord* record = FindSchema(schemas, schema);
  if (record == nullptr) return absl::NotFoundError(absl::StrCat("no schema '", schema, "'"));
  const GrantRecord* latest = nullptr;
  for (const GrantRecord& grant : grants) {
    if (grant.project != project || grant.schema != schema) continue;
    if (GrantValidAt(grant, now)) {
      latest = &grant;
      break;
    }
    if (latest == nullptr || grant.valid_to > latest->valid_to) latest = &grant;
  }
  if (latest == nullptr) {
    return absl::PermissionDeniedError(
        absl::StrCat("project '", project, "' has no grant for schema '", schema, "'"));
  }
  if (now < latest->valid_from) {
    return absl::PermissionDeniedError(absl::StrCat("project '", project, "' may use schema '",
                                                    schema, "' only from ",
                                                    Time(latest->valid_from)));
  }
  if (now >= latest->valid_to) {
    return absl::PermissionDeniedError(absl::StrCat("the grant of project '", project,
                                                    "' for schema '", schema, "' expired at ",
                                                    Time(latest->valid_to)));
  }
  if (record->data_class == DataClass::kPseudonymized &&
      terminal_class != TerminalClass::kDedicated) {
    return absl::PermissionDeniedError(PseudonymizedRefusal(schema, terminal_class));
  }
  return absl::OkStatus();
}

std::vector<std::string> SchemasNoLongerGranted(const std::vector<std::string>& mounted,
                                                const std::vector<GrantRecord>& grants,
                                                absl::Time now) {
  std::vector<std::string> lost;
  for (const std::string& schema : mounted) {
    if (!GrantedNow(grants, schema, now)) lost.push_back(schema);
  }
  return lost;
}

}  // namespace kura::gateway
