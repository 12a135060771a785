#include "cli/release_download.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/crypto.h"
#include "common/status.h"
#include "gateway/release.h"
#include "nlohmann/json.hpp"

namespace kura::cli {
namespace {

absl::Status WriteAll(int fd, absl::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("write", path);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

// Creates `path` (never over an existing file) holding `data`.
absl::Status WriteNewFile(const std::string& path, absl::string_view data, mode_t mode) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd) return ErrnoError("open", path);
  KURA_RETURN_IF_ERROR(WriteAll(fd.get(), data, path));
  if (::fchmod(fd.get(), mode) != 0) return ErrnoError("fchmod", path);
  if (::close(fd.Release()) != 0) return ErrnoError("close", path);
  return absl::OkStatus();
}

bool IsHexDigest(absl::string_view hex) {
  if (hex.size() != 64) return false;
  for (char c : hex) {
    if (!absl::ascii_isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsEmptyDirectory(const std::string& dir) {
  std::error_code ec;
  return std::filesystem::is_directory(dir, ec) && std::filesystem::is_empty(dir, ec) && !ec;
}

}  // namespace

// ---- ReceivedFile ---------------------------------------------------------------------------

absl::StatusOr<std::unique_ptr<ReceivedFile>> ReceivedFile::Create(std::string path, uint64_t size,
                                                                   std::string sha256,
                                                                   mode_t mode) {
  if (!IsHexDigest(sha256)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": the gateway sent no SHA-256 (64 hex digits) in the first chunk"));
  }
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd && errno == EEXIST) {
    return absl::AlreadyExistsError(absl::StrCat(path, " exists; it is not overwritten"));
  }
  if (!fd) return ErrnoError("open", path);
  return std::unique_ptr<ReceivedFile>(
      new ReceivedFile(std::move(path), size, absl::AsciiStrToLower(sha256), std::move(fd)));
}

ReceivedFile::ReceivedFile(std::string path, uint64_t size, std::string sha256, UniqueFd fd)
    : path_(std::move(path)),
      expected_size_(size),
      expected_sha256_(std::move(sha256)),
      fd_(std::move(fd)) {}

ReceivedFile::~ReceivedFile() {
  fd_.Reset();
  if (!kept_) ::unlink(path_.c_str());
}

absl::Status ReceivedFile::Append(absl::string_view data) {
  // Checked before writing, so a gateway that keeps sending cannot fill the disk.
  if (data.size() > expected_size_ - received_) {
    return absl::DataLossError(absl::StrCat(path_, ": more than the ", expected_size_,
                                            " bytes its first chunk announced"));
  }
  KURA_RETURN_IF_ERROR(WriteAll(fd_.get(), data, path_));
  digest_.Update(data);
  received_ += data.size();
  return absl::OkStatus();
}

absl::Status ReceivedFile::Finish() {
  if (::close(fd_.Release()) != 0) return ErrnoError("close", path_);
  if (received_ != expected_size_) {
    return absl::DataLossError(absl::StrCat(path_, ": received ", received_,
                                            " bytes, its first chunk announced ", expected_size_));
  }
  std::string sha256 = digest_.FinishHex();
  if (sha256 != expected_sha256_) {
    return absl::DataLossError(absl::StrCat(path_, ": SHA-256 ", sha256,
                                            ", its first chunk announced ", expected_sha256_));
  }
  kept_ = true;
  return absl::OkStatus();
}

absl::Status ReceiveFile(const std::string& path, const kura::v1::FileChunk& first,
                         const std::function<bool(kura::v1::FileChunk&)>& next, mode_t mode) {
  KURA_ASSIGN_OR_RETURN(std::unique_ptr<ReceivedFile> file,
                        ReceivedFile::Create(path, first.size(), first.sha256(), mode));
  KURA_RETURN_IF_ERROR(file->Append(first.data()));
  kura::v1::FileChunk chunk;
  while (next(chunk)) KURA_RETURN_IF_ERROR(file->Append(chunk.data()));
  return file->Finish();
}

// ---- ReleaseWriter --------------------------------------------------------------------------

ReleaseWriter::~ReleaseWriter() {
  if (!done_) Abort();
}

absl::Status ReleaseWriter::Failed(absl::Status status) {
  Abort();
  return status;
}

absl::Status ReleaseWriter::Receive(const kura::v1::ReleaseChunk& chunk) {
  if (chunk.has_header()) {
    if (begun_) return Failed(absl::InvalidArgumentError("the release sent a second header"));
    return Begin(chunk.header());
  }
  if (chunk.has_file()) return Add(chunk.file());
  return Failed(absl::InvalidArgumentError("the release sent an empty chunk"));
}

absl::Status ReleaseWriter::Begin(const kura::v1::ReleaseHeader& header) {
  if (begun_ || done_) return absl::FailedPreconditionError("the release was already begun");
  begun_ = true;
  std::error_code ec;
  if (!std::filesystem::exists(dir_, ec)) {
    if (::mkdir(dir_.c_str(), 0755) != 0) return Failed(ErrnoError("mkdir", dir_));
    created_dir_ = true;
  } else if (!IsEmptyDirectory(dir_)) {
    done_ = true;  // nothing of ours to remove, and what is there must stay
    return absl::AlreadyExistsError(
        absl::StrCat(dir_, " is not an empty directory; give a new one with --to"));
  }
  nlohmann::json manifest = nlohmann::json::parse(header.manifest_json(), nullptr, false);
  if (!manifest.is_object() || !manifest.contains("files") || !manifest["files"].is_array()) {
    return Failed(absl::InvalidArgumentError("the release's manifest has no file list"));
  }
  for (const nlohmann::json& file : manifest["files"]) {
    std::string path = file.is_object() ? file.value("path", "") : "";
    if (!gateway::IsPlainRelativePath(path)) {
      return Failed(absl::InvalidArgumentError(
          absl::StrCat("the release's manifest lists an unsafe path '", path, "'")));
    }
    listed_.insert(path);
  }
  if (header.public_key().size() != 32) {
    return Failed(absl::InvalidArgumentError("the release's key is not an Ed25519 key"));
  }
  header_ = header;
  if (::mkdir((dir_ + "/files").c_str(), 0755) != 0) {
    return Failed(ErrnoError("mkdir", dir_ + "/files"));
  }
  return absl::OkStatus();
}

absl::Status ReleaseWriter::Add(const kura::v1::FileChunk& chunk) {
  if (done_) return absl::FailedPreconditionError("the release was already finished or aborted");
  if (!begun_)
    return Failed(absl::InvalidArgumentError("the release sent a file before its header"));
  // Only a chunk naming a new path starts the next file; its later chunks may repeat the path
  // or leave it empty.
  if (current_ != nullptr && (chunk.path().empty() || chunk.path() == current_path_)) {
    absl::Status appended = current_->Append(chunk.data());
    return appended.ok() ? appended : Failed(appended);
  }
  if (current_ != nullptr) KURA_RETURN_IF_ERROR(FinishFile());
  const std::string& path = chunk.path();
  if (!gateway::IsPlainRelativePath(path)) {
    return Failed(absl::InvalidArgumentError(
        absl::StrCat("the release sent a file with an unsafe path '", path, "'")));
  }
  if (!listed_.count(path)) {
    return Failed(absl::InvalidArgumentError(
        absl::StrCat("the release sent '", path, "', which its manifest does not list")));
  }
  if (!received_.insert(path).second) {
    return Failed(absl::InvalidArgumentError(absl::StrCat("the release sent '", path, "' twice")));
  }
  std::string full = absl::StrCat(dir_, "/files/", path);
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(full).parent_path(), ec);
  if (ec) return Failed(absl::InternalError(absl::StrCat("cannot create the folder of ", full)));
  absl::StatusOr<std::unique_ptr<ReceivedFile>> file =
      ReceivedFile::Create(full, chunk.size(), chunk.sha256(), 0644);
  if (!file.ok()) return Failed(file.status());
  current_ = *std::move(file);
  current_path_ = path;
  absl::Status appended = current_->Append(chunk.data());
  return appended.ok() ? appended : Failed(appended);
}

absl::Status ReleaseWriter::FinishFile() {
  absl::Status finished = current_->Finish();
  if (!finished.ok()) return Failed(finished);
  ++summary_.files;
  summary_.bytes += current_->size();
  current_.reset();
  return absl::OkStatus();
}

absl::StatusOr<ReleaseSummary> ReleaseWriter::Finish() {
  if (done_) return absl::FailedPreconditionError("the release was already finished or aborted");
  if (!begun_) return Failed(absl::InvalidArgumentError("the release sent no header"));
  if (current_ != nullptr) KURA_RETURN_IF_ERROR(FinishFile());
  absl::Status written = WriteNewFile(dir_ + "/manifest.json", header_.manifest_json(), 0644);
  if (written.ok()) {
    written = WriteNewFile(dir_ + "/manifest.sig", HexEncode(header_.signature()) + "\n", 0644);
  }
  if (written.ok()) {
    written = WriteNewFile(dir_ + "/release.pub", HexEncode(header_.public_key()) + "\n", 0644);
  }
  if (!written.ok()) return Failed(written);
  absl::Status verified = gateway::VerifyReleaseDir(dir_, header_.public_key());
  if (!verified.ok()) {
    return Failed(absl::DataLossError(absl::StrCat(
        "the release does not verify against the key it came with:\n", verified.message())));
  }
  done_ = true;
  return summary_;
}

void ReleaseWriter::Abort() {
  if (done_) return;
  done_ = true;
  current_.reset();
  if (!begun_) return;
  std::error_code ec;
  if (created_dir_) {
    std::filesystem::remove_all(dir_, ec);
    return;
  }
  // The directory was empty when we began: everything in it is ours.
  for (const char* name : {"files", "manifest.json", "manifest.sig", "release.pub"}) {
    std::filesystem::remove_all(absl::StrCat(dir_, "/", name), ec);
  }
}

}  // namespace kura::cli
