#include <map>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/logging.h"
#include "common/status.h"
#include "disclosure/checker.h"
#include "disclosure/schema.h"
#include "disclosure/table_spec.h"
#include "node/snapshot.h"

namespace kura::node {

absl::StatusOr<disclosure::Report> CheckSnapshot(
    const OutputSnapshot& snapshot, const std::vector<v1::MountSchema>& schemas,
    const std::vector<v1::TableSpecDocument>& specs, const disclosure::Policy& policy,
    std::vector<v1::SchemaIdentity>* identities) {
  if (schemas.empty()) return absl::FailedPreconditionError("the workspace has no schema");
  std::vector<disclosure::Schema> loaded;
  for (const v1::MountSchema& m : schemas) {
    // The schema the checker recomputes from must be the one the researcher's code read.
    KURA_ASSIGN_OR_RETURN(std::string digest, Sha256FileHex(m.host_path() + "/schema.json"));
    if (digest != m.manifest_sha256()) {
      return absl::FailedPreconditionError(
          absl::StrCat("schema ", m.name(), " changed since the workspace was opened"));
    }
    auto schema = disclosure::LoadSchema(m.host_path());
    if (!schema.ok()) {
      // A registered schema that no longer loads is the node's fault, not the researcher's.
      KURA_LOG(Error) << "schema " << m.name() << ": " << schema.status();
      return absl::FailedPreconditionError(
          absl::StrCat("schema ", m.name(), " cannot be loaded on this node"));
    }
    v1::SchemaIdentity id;
    id.set_name(m.name());
    id.set_manifest_sha256(digest);
    id.set_data_class(std::string(disclosure::DataClassName(schema->data_class)));
    if (identities != nullptr) identities->push_back(id);
    loaded.push_back(*std::move(schema));
  }
  std::vector<disclosure::TableSpec> parsed;
  const disclosure::Schema* schema = &loaded.front();
  for (const v1::TableSpecDocument& doc : specs) {
    KURA_ASSIGN_OR_RETURN(disclosure::TableSpec spec,
                          disclosure::ParseTableSpec(doc.json(), doc.name()));
    const disclosure::Schema* named = nullptr;
    for (const disclosure::Schema& s : loaded) {
      if (s.name == spec.schema) named = &s;
    }
    if (named == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "spec ", doc.name(), " names schema ", spec.schema, ", not one of the workspace's"));
    }
    if (!parsed.empty() && named != schema) {
      return absl::InvalidArgumentError("the specs of one request must all name one schema");
    }
    schema = named;
    parsed.push_back(std::move(spec));
  }
  std::vector<std::string> files;
  std::map<std::string, std::string> relative;
  for (const v1::OutputFile& f : snapshot.files) {
    std::string full = absl::StrCat(snapshot.dir, "/", f.path());
    relative[full] = f.path();
    files.push_back(full);
  }
  KURA_ASSIGN_OR_RETURN(disclosure::Report report,
                        disclosure::CheckFiles(*schema, policy, parsed, files));
  for (disclosure::FileReport& f : report.files) {
    auto it = relative.find(f.path);
    if (it != relative.end()) f.path = it->second;
  }
  return report;
}

}  // namespace kura::node
