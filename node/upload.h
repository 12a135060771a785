#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/unique_fd.h"

namespace kura::node {

// What a researcher may upload into a project home: code, never data or programs. The policy
// is an allow-list of script and notebook suffixes, UTF-8 text without NUL bytes (so no ELF or
// other binary, whatever its name) and a size cap. CSV and other data formats are refused:
// data enters a workspace only as an approved schema.
inline constexpr uint64_t kDefaultUploadLimitBytes = 16ull << 20;

// InvalidArgument unless `path` is a relative path of plain components (no "..", ".", empty
// component or leading '/'), at most 16 deep and 1024 bytes, whose name ends in an allowed
// suffix (.py .R .r .Rmd .ipynb .sql .sh .txt .md .json .yaml .yml .toml). Pure.
absl::Status CheckUploadPath(const std::string& path);

// InvalidArgument unless `contents` is text: valid UTF-8 with no NUL byte (an ELF header starts
// with 0x7f 'E' 'L' 'F' 0x02... and fails both). Pure.
absl::Status CheckUploadContents(absl::string_view contents);

// A file being written under a home directory. Created beside its final name and renamed into
// place by Commit, so a failed upload leaves nothing. Not thread-safe; one owner.
class UploadTarget final {
 public:
  // Resolves `relative` under `home` with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
  // RESOLVE_NO_MAGICLINKS), creating missing directories (owned by `owner`), so neither "..",
  // nor a symlink planted by the workspace's code, can lead it outside. InvalidArgument for a
  // path that escapes or crosses a symlink.
  static absl::StatusOr<UploadTarget> Create(const std::string& home, const std::string& relative,
                                             uint32_t owner, uint32_t mode);

  UploadTarget(UploadTarget&&) = default;
  UploadTarget& operator=(UploadTarget&&) = default;
  ~UploadTarget();

  // Writes `contents`, owned by the owner, and renames it into place.
  absl::Status Commit(absl::string_view contents);

 private:
  UploadTarget() = default;

  UniqueFd dir_;
  std::string name_;
  std::string temp_name_;
  uint32_t owner_ = 0;
  uint32_t mode_ = 0644;
  bool committed_ = false;
};

}  // namespace kura::node
