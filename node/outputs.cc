#include "node/outputs.h"

#include <dirent.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include "absl/strings/str_cat.h"
#include "common/crypto.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace kura::node {
namespace {

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

absl::StatusOr<std::string> Sha256OfFd(int fd, const std::string& name) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    return absl::InternalError("EVP_DigestInit_ex failed");
  }
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read", name);
    }
    if (n == 0) break;
    EVP_DigestUpdate(ctx.get(), buf, n);
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &len);
  return HexEncode(absl::string_view(reinterpret_cast<char*>(digest), len));
}

absl::Status Walk(int dir_fd, const std::string& prefix, int depth, size_t max_files,
                  std::vector<v1::OutputFile>* out) {
  if (depth > 32) return absl::ResourceExhaustedError("/outputs is nested too deeply");
  // fdopendir takes the descriptor; give it a duplicate so the caller's stays ours.
  int dup = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dup < 0) return ErrnoError("fcntl", prefix);
  std::unique_ptr<DIR, DirCloser> dir(::fdopendir(dup));
  if (!dir) {
    ::close(dup);
    return ErrnoError("fdopendir", prefix);
  }
  std::vector<std::string> names;
  while (dirent* e = ::readdir(dir.get())) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    std::string rel = prefix.empty() ? name : absl::StrCat(prefix, "/", name);
    struct stat st;
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      UniqueFd sub(::openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!sub) continue;
      KURA_RETURN_IF_ERROR(Walk(sub.get(), rel, depth + 1, max_files, out));
      continue;
    }
    if (!S_ISREG(st.st_mode)) continue;
    if (out->size() >= max_files) {
      return absl::ResourceExhaustedError(
          absl::StrCat("/outputs holds more than ", max_files, " files"));
    }
    // O_NONBLOCK: a FIFO swapped in after the fstatat must not block the agent.
    UniqueFd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd) continue;
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    KURA_ASSIGN_OR_RETURN(std::string digest, Sha256OfFd(fd.get(), rel));
    v1::OutputFile file;
    file.set_path(rel);
    file.set_size(st.st_size);
    file.set_sha256(digest);
    file.set_modified_unix(st.st_mtim.tv_sec);
    out->push_back(std::move(file));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<v1::OutputFile>> ListOutputFiles(const std::string& outputs_dir,
                                                            size_t max_files) {
  UniqueFd root(::open(outputs_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root) return ErrnoError("open", outputs_dir);
  std::vector<v1::OutputFile> out;
  KURA_RETURN_IF_ERROR(Walk(root.get(), "", 0, max_files, &out));
  return out;
}

}  // namespace kura::node
