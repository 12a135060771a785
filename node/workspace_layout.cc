#include "node/workspace_layout.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace kura::node {

absl::Status ValidateName(const std::string& what, const std::string& name) {
  if (name.empty() || name.size() > 64) {
    return absl::InvalidArgumentError(absl::StrCat(what, " must be 1 to 64 characters"));
  }
  if (name[0] == '.' || name[0] == '-') {
    return absl::InvalidArgumentError(absl::StrCat(what, " must not start with '.' or '-'"));
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " may hold only letters, digits, '.', '_' and '-'"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::NodeOpenWorkspaceRequest> NormalizeOpenRequest(
    const v1::NodeOpenWorkspaceRequest& request) {
  v1::NodeOpenWorkspaceRequest out = request;
  KURA_RETURN_IF_ERROR(ValidateName("workspace id", out.workspace_id()));
  KURA_RETURN_IF_ERROR(ValidateName("project", out.project()));
  KURA_RETURN_IF_ERROR(ValidateName("user", out.user()));
  if (out.uid() == 0) out.set_uid(kDefaultUid);
  if (out.uid() > kMaxUid) {
    return absl::InvalidArgumentError(absl::StrCat("uid must be 1 to ", kMaxUid));
  }
  if (out.resources().cpus() < 0) return absl::InvalidArgumentError("cpus must not be negative");
  for (const v1::MountSchema& s : out.schemas()) {
    KURA_RETURN_IF_ERROR(ValidateName("schema name", s.name()));
    if (s.host_path().empty() || s.host_path()[0] != '/') {
      return absl::InvalidArgumentError(
          absl::StrCat("schema ", s.name(), ": host path must be absolute"));
    }
  }
  return out;
}

uint32_t HostIdOf(uint32_t uid) { return kSandboxHostIdBase + uid; }

absl::StatusOr<uint64_t> ProcessStartTime(int pid) {
  KURA_ASSIGN_OR_RETURN(std::string stat, ReadSmallFile(absl::StrCat("/proc/", pid, "/stat")));
  // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
  const size_t name_end = stat.rfind(')');
  if (name_end == std::string::npos || name_end + 2 >= stat.size()) {
    return absl::InternalError(absl::StrCat("/proc/", pid, "/stat: no command name"));
  }
  std::vector<std::string> fields = absl::StrSplit(stat.substr(name_end + 2), ' ');
  constexpr size_t kStartTime = 22 - 3;  // fields[0] is field 3
  uint64_t start_time = 0;
  if (fields.size() <= kStartTime || !absl::SimpleAtoi(fields[kStartTime], &start_time)) {
    return absl::InternalError(absl::StrCat("/proc/", pid, "/stat: no start time"));
  }
  return start_time;
}

absl::StatusOr<std::string> ReadSmallFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat(path, " does not exist"));
    return ErrnoError("open", path);
  }
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read", path);
    }
    if (n == 0) break;
    out.append(buf, n);
    if (out.size() > (64u << 20)) return absl::OutOfRangeError(absl::StrCat(path, " too large"));
  }
  return out;
}

absl::StatusOr<v1::NodeOpenWorkspaceRequest> ReadOpenRequest(const NodeDirs& dirs,
                                                             const std::string& id) {
  KURA_RETURN_IF_ERROR(ValidateName("workspace id", id));
  auto bytes = ReadSmallFile(dirs.RequestFile(id));
  if (!bytes.ok()) {
    if (absl::IsNotFound(bytes.status())) {
      return absl::NotFoundError(absl::StrCat("no workspace ", id, " on this node"));
    }
    return bytes.status();
  }
  v1::NodeOpenWorkspaceRequest request;
  if (!request.ParseFromString(*bytes)) {
    return absl::DataLossError(absl::StrCat(dirs.RequestFile(id), " is corrupt"));
  }
  return request;
}

absl::Status WriteFileAtomically(const std::string& path, const std::string& contents) {
  std::string tmp = path + ".tmp";
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd) return ErrnoError("open", tmp);
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd.get(), contents.data() + done, contents.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write", tmp);
    }
    done += n;
  }
  if (::fsync(fd.get()) != 0) return ErrnoError("fsync", tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoError("rename", path);
  return absl::OkStatus();
}

absl::Status MakeDirs(const std::string& path, unsigned mode) {
  for (size_t pos = 1; pos <= path.size(); ++pos) {
    if (pos != path.size() && path[pos] != '/') continue;
    std::string prefix = path.substr(0, pos);
    if (::mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST) return ErrnoError("mkdir", prefix);
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoError("stat", path);
  if (!S_ISDIR(st.st_mode))
    return absl::FailedPreconditionError(absl::StrCat(path, " is not a directory"));
  return absl::OkStatus();
}

}  // namespace kura::node
