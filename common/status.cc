#include "common/status.h"

#include "absl/strings/str_cat.h"

namespace kura {

absl::Status ErrnoError(absl::string_view call, absl::string_view arg, int error) {
  std::string message = arg.empty() ? std::string(call) : absl::StrCat(call, "(", arg, ")");
  return absl::ErrnoToStatus(error, message);
}

absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(context, ": ", status.message()));
}

}  // namespace kura
