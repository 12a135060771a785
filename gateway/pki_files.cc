#include "gateway/pki_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace kura::gateway {

absl::StatusOr<std::string> ReadTextFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return ErrnoError("open", path);
  std::string contents;
  char buffer[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("read", path);
    if (n == 0) break;
    contents.append(buffer, static_cast<size_t>(n));
    if (contents.size() > (1 << 20)) {
      return absl::InvalidArgumentError(absl::StrCat(path, " is larger than 1 MiB"));
    }
  }
  return contents;
}

absl::Status WriteNewFile(const std::string& path, absl::string_view contents, mode_t mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd) return ErrnoError("open", path);
  // The umask may have taken bits away, never added them; fchmod makes the mode exact.
  if (::fchmod(fd.get(), mode) != 0) return ErrnoError("fchmod", path);
  size_t written = 0;
  while (written < contents.size()) {
    ssize_t n = ::write(fd.get(), contents.data() + written, contents.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("write", path);
    written += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) return ErrnoError("fsync", path);
  return absl::OkStatus();
}

absl::Status ReplaceFile(const std::string& path, absl::string_view contents, mode_t mode) {
  std::string temporary = absl::StrCat(path, ".new");
  // A temporary left by an interrupted run would make WriteNewFile fail for ever.
  if (::unlink(temporary.c_str()) != 0 && errno != ENOENT) return ErrnoError("unlink", temporary);
  KURA_RETURN_IF_ERROR(WriteNewFile(temporary, contents, mode));
  if (::rename(temporary.c_str(), path.c_str()) != 0) return ErrnoError("rename", path);
  return absl::OkStatus();
}

absl::Status EnsureDirectory(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST) return absl::OkStatus();
  return ErrnoError("mkdir", dir);
}

PkiPaths CaPaths(const std::string& dir) {
  return {absl::StrCat(dir, "/ca.crt"), absl::StrCat(dir, "/ca.key")};
}

PkiPaths PeerPaths(const std::string& dir, PeerRole role, absl::string_view id) {
  std::string base;
  switch (role) {
    case PeerRole::kGateway:
      base = absl::StrCat(dir, "/gateway");
      break;
    case PeerRole::kNode:
      base = absl::StrCat(dir, "/nodes/", id);
      break;
    case PeerRole::kTerminal:
      base = absl::StrCat(dir, "/terminals/", id);
      break;
  }
  return {absl::StrCat(base, ".crt"), absl::StrCat(base, ".key")};
}

std::string VdiBrokerKeyPath(const std::string& dir) {
  return absl::StrCat(dir, "/vdi-broker.pub");
}

std::string RevocationListPath(const std::string& dir) { return absl::StrCat(dir, "/crl.pem"); }

absl::Status WriteKeyAndCertificate(const PkiPaths& paths, const KeyAndCertificate& pair) {
  std::string parent = paths.key.substr(0, paths.key.rfind('/'));
  KURA_RETURN_IF_ERROR(EnsureDirectory(parent));
  // Refuse before writing anything so a half-written pair never exists.
  struct stat st;
  if (::stat(paths.certificate.c_str(), &st) == 0) {
    return absl::AlreadyExistsError(absl::StrCat(paths.certificate, " already exists"));
  }
  KURA_RETURN_IF_ERROR(WriteNewFile(paths.key, pair.key_pem, 0600));
  return WriteNewFile(paths.certificate, pair.certificate_pem, 0644);
}

absl::StatusOr<KeyAndCertificate> LoadCertificateAuthority(const std::string& dir) {
  PkiPaths paths = CaPaths(dir);
  KeyAndCertificate ca;
  KURA_ASSIGN_OR_RETURN(ca.certificate_pem, ReadTextFile(paths.certificate));
  KURA_ASSIGN_OR_RETURN(ca.key_pem, ReadTextFile(paths.key));
  return ca;
}

}  // namespace kura::gateway
