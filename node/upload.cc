#include "node/upload.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/crypto.h"
#include "common/status.h"

namespace kura::node {
namespace {

constexpr const char* kAllowedSuffixes[] = {".py",   ".R",   ".r",   ".Rmd", ".ipynb",
                                            ".sql",  ".sh",  ".txt", ".md",  ".json",
                                            ".yaml", ".yml", ".toml"};

int OpenBeneath(int dir, const std::string& path, uint64_t flags, uint64_t mode) {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.mode = mode;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, dir, path.c_str(), &how, sizeof(how)));
}

absl::Status EscapeError(const std::string& path) {
  return absl::InvalidArgumentError(
      absl::StrCat("upload path ", path, " leaves the home directory or crosses a symlink"));
}

}  // namespace

absl::Status CheckUploadPath(const std::string& path) {
  if (path.empty() || path.size() > 1024) {
    return absl::InvalidArgumentError("upload path must be 1 to 1024 bytes");
  }
  if (path[0] == '/') {
    return absl::InvalidArgumentError("upload path must be relative to the project home");
  }
  std::vector<std::string> parts = absl::StrSplit(path, '/');
  if (parts.size() > 16) return absl::InvalidArgumentError("upload path is too deep");
  for (const std::string& p : parts) {
    if (p.empty() || p == "." || p == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat("upload path ", path, " has an empty, '.' or '..' component"));
    }
    for (char c : p) {
      if (static_cast<unsigned char>(c) < 0x20) {
        return absl::InvalidArgumentError("upload path has a control character");
      }
    }
  }
  for (const char* suffix : kAllowedSuffixes) {
    if (absl::EndsWith(parts.back(), suffix) && parts.back().size() > std::strlen(suffix)) {
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "upload of ", parts.back(),
      " refused: only scripts, notebooks and text (.py .R .Rmd .ipynb .sql .sh .txt .md .json "
      ".yaml .yml .toml) may be uploaded"));
}

absl::Status CheckUploadContents(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xe  ? 3
                 : (c >> 3) == 0x1e ? 4
                                    : 0;
    if (c == 0 || len == 0 || i + len > s.size()) {
      return absl::InvalidArgumentError(
          "upload refused: the file is not text (binary content such as a program is not "
          "allowed)");
    }
    for (size_t k = 1; k < len; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) {
        return absl::InvalidArgumentError("upload refused: the file is not valid UTF-8 text");
      }
    }
    i += len;
  }
  return absl::OkStatus();
}

absl::StatusOr<UploadTarget> UploadTarget::Create(const std::string& home,
                                                  const std::string& relative, uint32_t owner,
                                                  uint32_t mode) {
  KURA_RETURN_IF_ERROR(CheckUploadPath(relative));
  UniqueFd dir(::open(home.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!dir) return ErrnoError("open", home);
  std::vector<std::string> parts = absl::StrSplit(relative, '/');
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    if (::mkdirat(dir.get(), parts[i].c_str(), 0700) == 0) {
      // Created by us, so not a symlink; hand it to the workspace's user.
      if (::fchownat(dir.get(), parts[i].c_str(), owner, owner, AT_SYMLINK_NOFOLLOW) != 0) {
        return ErrnoError("fchownat", parts[i]);
      }
    } else if (errno != EEXIST) {
      return ErrnoError("mkdirat", parts[i]);
    }
    UniqueFd next(OpenBeneath(dir.get(), parts[i], O_PATH | O_DIRECTORY, 0));
    if (!next) {
      if (errno == ELOOP || errno == EXDEV || errno == ENOTDIR) return EscapeError(relative);
      return ErrnoError("openat2", parts[i]);
    }
    dir = std::move(next);
  }
  UploadTarget target;
  target.name_ = parts.back();
  // The final name must not be a symlink either (the rename would replace the link, but refuse
  // it so that the researcher learns why the upload did not land where the link points).
  struct stat st;
  if (::fstatat(dir.get(), target.name_.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
      !S_ISREG(st.st_mode)) {
    return S_ISLNK(st.st_mode) ? EscapeError(relative)
                               : absl::InvalidArgumentError(
                                     absl::StrCat("upload path ", relative, " is not a file"));
  }
  KURA_ASSIGN_OR_RETURN(std::string suffix, RandomBytes(8));
  target.temp_name_ = absl::StrCat(".", target.name_, ".upload-", HexEncode(suffix));
  // A directory fd opened with O_PATH can anchor openat2 but not a create; reopen it for real.
  UniqueFd real_dir(OpenBeneath(dir.get(), ".", O_RDONLY | O_DIRECTORY, 0));
  if (!real_dir) return ErrnoError("openat2", ".");
  target.dir_ = std::move(real_dir);
  target.owner_ = owner;
  target.mode_ = (mode == 0 ? 0644 : mode) & 0755;
  return target;
}

UploadTarget::~UploadTarget() {
  if (dir_ && !committed_ && !temp_name_.empty()) ::unlinkat(dir_.get(), temp_name_.c_str(), 0);
}

absl::Status UploadTarget::Commit(absl::string_view contents) {
  UniqueFd fd(OpenBeneath(dir_.get(), temp_name_, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600));
  if (!fd) return ErrnoError("openat2", temp_name_);
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd.get(), contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write", temp_name_);
    }
    done += n;
  }
  if (::fchown(fd.get(), owner_, owner_) != 0) return ErrnoError("fchown", temp_name_);
  if (::fchmod(fd.get(), mode_) != 0) return ErrnoError("fchmod", temp_name_);
  if (::fsync(fd.get()) != 0) return ErrnoError("fsync", temp_name_);
  if (::renameat(dir_.get(), temp_name_.c_str(), dir_.get(), name_.c_str()) != 0) {
    return ErrnoError("renameat", name_);
  }
  committed_ = true;
  return absl::OkStatus();
}

}  // namespace kura::node
