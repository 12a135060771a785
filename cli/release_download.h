#pragma once

// Files the gateway streams to the kura command (ReadExportFile, DownloadRelease) written to
// disk as their chunks arrive, so that no file and no release is ever held in memory whole.
// Every file is checked against the size and SHA-256 its first chunk declares, and a file or
// release that fails any check is removed: what is left on disk is complete and checked.

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/crypto.h"
#include "common/unique_fd.h"
#include "kura/v1/gateway.pb.h"

namespace kura::cli {

// One file being received. It owns the descriptor of the file it creates (O_EXCL: an existing
// path is never overwritten) and a running SHA-256 of the bytes appended. Unless Finish()
// succeeds, the file is unlinked when the object is destroyed. Not thread-safe.
class ReceivedFile final {
 public:
  // Creates `path` with `mode`, expecting `size` bytes whose SHA-256 is `sha256` (hex).
  // AlreadyExists when `path` exists; InvalidArgument when `sha256` is not 64 hex digits.
  static absl::StatusOr<std::unique_ptr<ReceivedFile>> Create(std::string path, uint64_t size,
                                                              std::string sha256, mode_t mode);
  ReceivedFile(const ReceivedFile&) = delete;
  ReceivedFile& operator=(const ReceivedFile&) = delete;
  ~ReceivedFile();

  // DataLoss as soon as the bytes go beyond the declared size.
  absl::Status Append(absl::string_view data);
  // Closes the file and checks it. DataLoss naming both values when the size or the SHA-256
  // differs from the declared one; the file is then removed.
  absl::Status Finish();

  const std::string& path() const { return path_; }
  uint64_t size() const { return received_; }

 private:
  ReceivedFile(std::string path, uint64_t size, std::string sha256, UniqueFd fd);

  std::string path_;
  uint64_t expected_size_;
  std::string expected_sha256_;
  UniqueFd fd_;
  Sha256Hasher digest_;
  uint64_t received_ = 0;
  bool kept_ = false;
};

// Saves one file streamed by ReadExportFile: `first` carries the size and SHA-256, `next`
// yields the following chunks (false at the end). Removes `path` on any failure.
absl::Status ReceiveFile(const std::string& path, const kura::v1::FileChunk& first,
                         const std::function<bool(kura::v1::FileChunk&)>& next, mode_t mode);

// What a finished release holds.
struct ReleaseSummary {
  int files = 0;
  uint64_t bytes = 0;
};

// Writes a release streamed by DownloadRelease into `dir`, in the layout
// gateway::WriteReleaseDir makes and gateway::VerifyReleaseDir checks (manifest.json exactly
// as signed, manifest.sig in hex, files/<path>), plus release.pub: the key the header names,
// in hex. Feed it every chunk in order with Receive (or Begin with the header, then Add for
// each file chunk), then call Finish. On the first error, and when destroyed before Finish
// succeeded, it removes everything it wrote (and `dir` itself when it created it); later
// calls then answer FailedPrecondition. Not thread-safe.
class ReleaseWriter final {
 public:
  explicit ReleaseWriter(std::string dir) : dir_(std::move(dir)) {}
  ReleaseWriter(const ReleaseWriter&) = delete;
  ReleaseWriter& operator=(const ReleaseWriter&) = delete;
  ~ReleaseWriter();

  // A header (only first) or a file chunk (only after it); InvalidArgument otherwise.
  absl::Status Receive(const kura::v1::ReleaseChunk& chunk);
  // AlreadyExists when `dir` exists and is not empty; InvalidArgument when the manifest is not
  // JSON with a file list of plain relative paths, or the key is not 32 bytes.
  absl::Status Begin(const kura::v1::ReleaseHeader& header);
  // The next chunk of the current file, or (a new path) the first chunk of the next file.
  // InvalidArgument for a path that is not plain relative, not in the manifest or sent twice,
  // or a first chunk without a SHA-256; DataLoss when a file's bytes do not match its first
  // chunk's size and SHA-256.
  absl::Status Add(const kura::v1::FileChunk& chunk);
  // Checks the last file, writes manifest.json, manifest.sig and release.pub, then verifies
  // the directory with gateway::VerifyReleaseDir against the header's key: DataLoss listing
  // every mismatch when it does not verify.
  absl::StatusOr<ReleaseSummary> Finish();
  // Removes what was written. Idempotent.
  void Abort();

 private:
  absl::Status FinishFile();
  absl::Status Failed(absl::Status status);

  std::string dir_;
  bool created_dir_ = false;
  bool begun_ = false;
  bool done_ = false;  // finished or aborted
  kura::v1::ReleaseHeader header_;
  std::set<std::string> listed_;
  std::set<std::string> received_;
  std::unique_ptr<ReceivedFile> current_;
  std::string current_path_;
  ReleaseSummary summary_;
};

}  // namespace kura::cli
