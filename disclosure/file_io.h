#pragma once

// Whole-file reads and writes for the checker's small files (manifests, specs, policies,
// submitted tables, mitigated tables). Errors name the call and the path.

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kura::disclosure {

// Reads the whole file at `path`. NotFound / PermissionDenied name the path.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Writes `text` to `path` (mode 0640 when created), replacing what was there.
absl::Status WriteFile(const std::string& path, absl::string_view text);

}  // namespace kura::disclosure
