#pragma once

// The checker: runs every file-level check and, for a table with a spec, recomputes it from the
// schema and judges each cell; then, when asked, mitigates the tables and checks the results.
// This is what `kura-sdc check` and the gateway's export path call.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "disclosure/mitigation.h"
#include "disclosure/policy.h"
#include "disclosure/report.h"
#include "disclosure/schema.h"
#include "disclosure/table_spec.h"

namespace kura::disclosure {

// The number of hardware threads, between 1 and 8.
int DefaultThreads();

struct CheckOptions {
  // Threads for scanning a schema table: the machine's cores, at most 8.
  int threads = DefaultThreads();
};

// Checks `files`. A spec applies to the file whose base name equals the base name of its
// `output`. InvalidArgument (bad input: exit 3) for a spec that fits no file or no schema
// table, a malformed spec'd table or schema table, and a spec naming a file that is not a
// table; NotFound for a missing file.
absl::StatusOr<Report> CheckFiles(const Schema& schema, const Policy& policy,
                                  const std::vector<TableSpec>& specs,
                                  const std::vector<std::string>& files,
                                  const CheckOptions& options = {});

// Checks `files`, writes the mitigated version of each table into `out_dir` (created if
// needed) and returns the report of checking the written tables (other files as they were),
// each table's entry carrying what was done.
absl::StatusOr<Report> CheckAndMitigate(const Schema& schema, const Policy& policy,
                                        const std::vector<TableSpec>& specs,
                                        const std::vector<std::string>& files,
                                        MitigationMethod method, const std::string& out_dir,
                                        const CheckOptions& options = {});

// Everything `kura-sdc check` was asked for.
struct CheckCommand {
  std::string schema_dir;
  std::string policy = "acro-default";  // A pack name or a JSON file.
  std::vector<std::string> specs;
  std::vector<std::string> files;
  MitigationMethod mitigation = MitigationMethod::kNone;
  std::string out_dir;
  CheckOptions options;
};

// Loads the schema, policy and specs, then checks (and mitigates). Errors are bad input.
absl::StatusOr<Report> RunCheckCommand(const CheckCommand& command);

}  // namespace kura::disclosure
