#include "node/snapshot.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <set>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/crypto.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "node/workspace_layout.h"

namespace kura::node {
namespace {

int OpenBeneath(int dir_fd, const std::string& path, uint64_t flags) {
  open_how how{};
  how.flags = flags | O_NOFOLLOW | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, dir_fd, path.c_str(), &how, sizeof(how)));
}

absl::Status Refuse(const std::string& path, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("refused ", path, ": ", why));
}

// The reason openat2 gives, in the researcher's terms.
absl::Status OpenRefusal(const std::string& path, int error) {
  switch (error) {
    case ELOOP:
      return Refuse(path, "a symlink (symlinks are never exported)");
    case EXDEV:
      return Refuse(path, "the path leaves /outputs");
    case ENOENT:
      return absl::NotFoundError(absl::StrCat("no such file in /outputs: ", path));
    case ENOTDIR:
      return Refuse(path, "a component of the path is not a directory");
    default:
      return ErrnoError("openat2", path, error);
  }
}

absl::string_view TypeOf(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISLNK(mode)) return "a symlink (symlinks are never exported)";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "a device";
  return "not a regular file";
}

// Opens `path` under `root` and checks what it is before reading a byte: an O_PATH open first
// (opening a device or FIFO for reading can have effects), then the real open, which must be
// the same inode.
absl::StatusOr<UniqueFd> OpenForSnapshot(int root, const std::string& path,
                                         const disclosure::Policy& policy, struct stat* st) {
  UniqueFd probe(OpenBeneath(root, path, O_PATH));
  if (!probe) return OpenRefusal(path, errno);
  if (::fstat(probe.get(), st) != 0) return ErrnoError("fstat", path);
  if (!S_ISREG(st->st_mode)) return Refuse(path, TypeOf(st->st_mode));
  if (st->st_nlink > 1) {
    return Refuse(path, absl::StrCat("a hard link (", st->st_nlink,
                                     " names for one file; only a file's sole name is exported)"));
  }
  if (st->st_size > policy.max_file_bytes) {
    return Refuse(path, absl::StrCat("larger than the cap (", st->st_size, " > ",
                                     policy.max_file_bytes, " bytes)"));
  }
  UniqueFd fd(OpenBeneath(root, path, O_RDONLY | O_NONBLOCK));
  if (!fd) return OpenRefusal(path, errno);
  struct stat again;
  if (::fstat(fd.get(), &again) != 0) return ErrnoError("fstat", path);
  if (again.st_dev != st->st_dev || again.st_ino != st->st_ino || !S_ISREG(again.st_mode) ||
      again.st_nlink > 1) {
    return Refuse(path, "the file changed while it was being checked");
  }
  return fd;
}

absl::Status CheckType(const std::string& path, const disclosure::Policy& policy) {
  std::string base = path.substr(path.rfind('/') + 1);
  size_t dot = base.rfind('.');
  std::string ext = dot == std::string::npos || dot == 0 ? "" : base.substr(dot + 1);
  ext = absl::AsciiStrToLower(ext);
  if (std::find(policy.allowed_types.begin(), policy.allowed_types.end(), ext) ==
      policy.allowed_types.end()) {
    return Refuse(path, absl::StrCat("type not allowed (\"", ext, "\"; allowed: ",
                                     absl::StrJoin(policy.allowed_types, ", "), ")"));
  }
  return absl::OkStatus();
}

// Copies from `in` to a new 0400 file `path` under `dest_root`, hashing as it goes and
// stopping at `cap` bytes (the file may grow after the fstat).
absl::StatusOr<std::pair<int64_t, std::string>> CopyFile(int in, int dest_root,
                                                         const std::string& path, int64_t cap) {
  auto parts = absl::StrSplit(path, '/');
  std::vector<std::string> dirs(parts.begin(), parts.end());
  dirs.pop_back();
  std::string prefix;
  for (const std::string& d : dirs) {
    prefix = prefix.empty() ? d : absl::StrCat(prefix, "/", d);
    if (::mkdirat(dest_root, prefix.c_str(), 0700) != 0 && errno != EEXIST) {
      return ErrnoError("mkdirat", prefix);
    }
  }
  UniqueFd out(::openat(dest_root, path.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400));
  if (!out) return ErrnoError("openat", path);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) {
    return absl::InternalError("EVP_DigestInit_ex failed");
  }
  int64_t total = 0;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(in, buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read", path);
    }
    if (n == 0) break;
    total += n;
    if (total > cap) return Refuse(path, "grew over the cap while it was being copied");
    EVP_DigestUpdate(ctx.get(), buf, n);
    for (ssize_t done = 0; done < n;) {
      ssize_t w = ::write(out.get(), buf + done, n - done);
      if (w < 0) {
        if (errno == EINTR) continue;
        return ErrnoError("write", path);
      }
      done += w;
    }
  }
  if (::fsync(out.get()) != 0) return ErrnoError("fsync", path);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), digest, &len);
  return std::make_pair(total,
                        HexEncode(absl::string_view(reinterpret_cast<char*>(digest), len)));
}

std::string SnapshotId(std::vector<v1::OutputFile> files) {
  std::sort(files.begin(), files.end(),
            [](const v1::OutputFile& a, const v1::OutputFile& b) { return a.path() < b.path(); });
  std::string text;
  for (const v1::OutputFile& f : files) {
    absl::StrAppend(&text, f.path(), "\n", f.size(), "\n", f.sha256(), "\n");
  }
  return Sha256Hex(text);
}

// The finished snapshot is read-only to everyone but root.
void SealTree(const std::string& dir) {
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec)) ::chmod(it->path().c_str(), 0500);
  }
  ::chmod(dir.c_str(), 0500);
}

}  // namespace

absl::Status CheckOutputPath(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("an empty path");
  if (path.size() > 512) return Refuse(path.substr(0, 64) + "...", "the path is too long");
  for (char c : path) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError("refused a path with control characters");
    }
  }
  if (path.front() == '/') return Refuse(path, "the path leaves /outputs (absolute)");
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part == "..") return Refuse(path, "the path leaves /outputs (\"..\")");
    if (part.empty() || part == ".") return Refuse(path, "not a plain relative path");
  }
  return absl::OkStatus();
}

absl::StatusOr<OutputSnapshot> SnapshotOutputFiles(const std::string& outputs_dir,
                                                   const std::string& snapshots_dir,
                                                   const std::vector<std::string>& paths,
                                                   const disclosure::Policy& policy,
                                                   const SnapshotLimits& limits) {
  if (paths.empty()) return absl::InvalidArgumentError("no files to export");
  if (paths.size() > limits.max_files) {
    return absl::InvalidArgumentError(
        absl::StrCat("too many files (", paths.size(), " > ", limits.max_files, ")"));
  }
  std::set<std::string> seen;
  for (const std::string& p : paths) {
    KURA_RETURN_IF_ERROR(CheckOutputPath(p));
    KURA_RETURN_IF_ERROR(CheckType(p, policy));
    if (!seen.insert(p).second) return Refuse(p, "given twice");
  }
  UniqueFd root(::open(outputs_dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root) return ErrnoError("open", outputs_dir);
  KURA_RETURN_IF_ERROR(MakeDirs(snapshots_dir, 0700));
  std::string staging = absl::StrCat(snapshots_dir, "/.staging-XXXXXX");
  if (::mkdtemp(staging.data()) == nullptr) return ErrnoError("mkdtemp", snapshots_dir);
  bool keep = false;
  absl::Cleanup remove_staging = [&] {
    if (keep) return;
    std::error_code ignored;
    std::filesystem::remove_all(staging, ignored);
  };
  std::string staging_files = staging + "/files";
  if (::mkdir(staging_files.c_str(), 0700) != 0) return ErrnoError("mkdir", staging_files);
  UniqueFd dest(::open(staging_files.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!dest) return ErrnoError("open", staging_files);

  OutputSnapshot snapshot;
  int64_t total = 0;
  for (const std::string& path : paths) {
    struct stat st;
    KURA_ASSIGN_OR_RETURN(UniqueFd fd, OpenForSnapshot(root.get(), path, policy, &st));
    if (total + st.st_size > limits.max_total_bytes) {
      return Refuse(path, absl::StrCat("the request would exceed the cap of ",
                                       limits.max_total_bytes, " bytes in all"));
    }
    KURA_ASSIGN_OR_RETURN(auto copied,
                          CopyFile(fd.get(), dest.get(), path, policy.max_file_bytes));
    total += copied.first;
    v1::OutputFile file;
    file.set_path(path);
    file.set_size(copied.first);
    file.set_sha256(copied.second);
    file.set_modified_unix(st.st_mtim.tv_sec);
    snapshot.files.push_back(std::move(file));
  }
  snapshot.id = SnapshotId(snapshot.files);
  std::string final_dir = absl::StrCat(snapshots_dir, "/", snapshot.id);
  snapshot.dir = final_dir + "/files";
  if (::rename(staging.c_str(), final_dir.c_str()) != 0) {
    // The same files were snapshotted before: that snapshot is this one.
    if (errno == EEXIST || errno == ENOTEMPTY) return snapshot;
    return ErrnoError("rename", final_dir);
  }
  keep = true;
  SealTree(final_dir);
  return snapshot;
}

absl::StatusOr<SnapshotFile> OpenSnapshotFile(const std::string& snapshots_dir,
                                              const std::string& snapshot_id,
                                              const std::string& path) {
  bool hex = snapshot_id.size() == 64;
  for (char c : snapshot_id) hex = hex && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  if (!hex) return absl::InvalidArgumentError("a snapshot id is 64 lowercase hex digits");
  KURA_RETURN_IF_ERROR(CheckOutputPath(path));
  std::string files = absl::StrCat(snapshots_dir, "/", snapshot_id, "/files");
  UniqueFd root(::open(files.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!root) {
    if (errno == ENOENT) return absl::NotFoundError(absl::StrCat("no snapshot ", snapshot_id));
    return ErrnoError("open", files);
  }
  SnapshotFile file;
  file.path = path;
  file.fd = UniqueFd(OpenBeneath(root.get(), path, O_RDONLY | O_NONBLOCK));
  if (!file.fd) return OpenRefusal(path, errno);
  struct stat st;
  if (::fstat(file.fd.get(), &st) != 0) return ErrnoError("fstat", path);
  if (!S_ISREG(st.st_mode)) return Refuse(path, TypeOf(st.st_mode));
  file.size = st.st_size;
  return file;
}

absl::Status ReadSnapshotChunk(const SnapshotFile& file, int64_t offset, size_t max_bytes,
                               std::string* out) {
  int64_t left = std::max<int64_t>(file.size - offset, 0);
  out->resize(static_cast<size_t>(std::min<int64_t>(left, static_cast<int64_t>(max_bytes))));
  size_t done = 0;
  while (done < out->size()) {
    ssize_t n = ::pread(file.fd.get(), out->data() + done, out->size() - done, offset + done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("pread", file.path);
    // Snapshots are sealed; one that shrank was damaged on the node's disk.
    if (n == 0) {
      return absl::DataLossError(absl::StrCat("snapshot file ", file.path, " ends at ",
                                              offset + done, " of ", file.size, " bytes"));
    }
    done += n;
  }
  return absl::OkStatus();
}

}  // namespace kura::node
