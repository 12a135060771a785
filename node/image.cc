#include "node/image.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/crypto.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace kura::node {
namespace {

// The value of the last PRETTY_NAME assignment in an os-release file (os-release(5): shell-style
// assignments, the value bare or in single or double quotes); "" when there is none.
std::string PrettyName(absl::string_view os_release) {
  std::string name;
  for (absl::string_view line : absl::StrSplit(os_release, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!absl::ConsumePrefix(&line, "PRETTY_NAME=")) continue;
    if (line.size() < 2 || (line.front() != '"' && line.front() != '\'') ||
        line.back() != line.front()) {
      name = std::string(line);
      continue;
    }
    const char quote = line.front();
    line = line.substr(1, line.size() - 2);
    name.clear();
    for (size_t i = 0; i < line.size(); ++i) {
      if (quote == '"' && line[i] == '\\' && i + 1 < line.size()) ++i;
      name += line[i];
    }
  }
  return name;
}

// The bytes of `path` resolved inside `root` as if it were "/" (RESOLVE_IN_ROOT): an absolute
// symlink such as /etc/os-release -> /usr/lib/os-release stays in the tree a sandbox sees.
// NotFound when it does not exist.
absl::StatusOr<std::string> ReadInRoot(int root, const std::string& path) {
  open_how how{};
  how.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  UniqueFd fd(static_cast<int>(::syscall(SYS_openat2, root, path.c_str(), &how, sizeof(how))));
  if (!fd) return ErrnoError("openat2", path);
  std::string out;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("read", path);
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

// SHA-256 over "relpath sha256\n" of every regular file under `dir`, sorted by path. Python's
// bytecode caches are left out: they are derived from the sources, and whether one was written
// says nothing about the code.
absl::StatusOr<std::string> DirectoryDigest(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::pair<std::string, std::string>> files;
  fs::recursive_directory_iterator it(dir, ec);
  if (ec) return ErrnoError("opendir", dir, ec.value());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) return ErrnoError("readdir", dir, ec.value());
    if (it->is_directory(ec) && it->path().filename() == "__pycache__") {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    KURA_ASSIGN_OR_RETURN(std::string sha256, Sha256FileHex(it->path().string()));
    files.emplace_back(it->path().lexically_relative(dir).string(), std::move(sha256));
  }
  if (ec) return ErrnoError("readdir", dir, ec.value());
  std::sort(files.begin(), files.end());
  std::string listing;
  for (const auto& [path, sha256] : files) absl::StrAppend(&listing, path, " ", sha256, "\n");
  return Sha256Hex(listing);
}

// The os-release file's bytes, where either of its two places has one.
absl::StatusOr<std::string> ReadOsRelease(int root) {
  auto etc = ReadInRoot(root, "etc/os-release");
  if (!absl::IsNotFound(etc.status())) return etc;
  return ReadInRoot(root, "usr/lib/os-release");
}

}  // namespace

v1::WorkspaceImage MakeWorkspaceImage(std::string name, std::vector<std::string> components) {
  std::sort(components.begin(), components.end());
  v1::WorkspaceImage image;
  image.set_name(std::move(name));
  image.set_digest(absl::StrCat("sha256:", Sha256Hex(absl::StrJoin(components, "\n"))));
  for (std::string& c : components) image.add_components(std::move(c));
  return image;
}

absl::StatusOr<v1::WorkspaceImage> HostWorkspaceImage(const std::string& root,
                                                      const KuraSoftware& kura) {
  UniqueFd root_fd(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd) return ErrnoError("open", root);
  std::string name = "host";
  std::vector<std::string> components;

  auto os_release = ReadOsRelease(root_fd.get());
  if (os_release.ok()) {
    if (std::string pretty = PrettyName(*os_release); !pretty.empty()) {
      name = absl::StrCat("host:", pretty);
    }
    components.push_back(absl::StrCat("os-release ", Sha256Hex(*os_release)));
  } else if (!absl::IsNotFound(os_release.status())) {
    return os_release.status();
  }
  auto dpkg_status = ReadInRoot(root_fd.get(), "var/lib/dpkg/status");
  if (dpkg_status.ok()) {
    components.push_back(absl::StrCat("dpkg-status ", Sha256Hex(*dpkg_status)));
  } else if (!absl::IsNotFound(dpkg_status.status())) {
    return dpkg_status.status();
  }
  if (!kura.init_binary.empty()) {
    KURA_ASSIGN_OR_RETURN(std::string sha256, Sha256FileHex(kura.init_binary));
    components.push_back(absl::StrCat("kura-workspace-init ", sha256));
  }
  if (!kura.python_dir.empty()) {
    KURA_ASSIGN_OR_RETURN(std::string sha256, DirectoryDigest(kura.python_dir));
    components.push_back(absl::StrCat("kura-python ", sha256));
  }
  if (!kura.node_version.empty()) {
    components.push_back(absl::StrCat("kura-node ", Sha256Hex(kura.node_version)));
  }
  return MakeWorkspaceImage(std::move(name), std::move(components));
}

}  // namespace kura::node
