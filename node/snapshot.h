#pragma once

// Export snapshots: the files a researcher asks to release, copied out of a workspace's
// /outputs into an immutable directory the sandbox cannot reach, and checked there.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"
#include "disclosure/policy.h"
#include "disclosure/report.h"
#include "kura/v1/common.pb.h"
#include "kura/v1/node.pb.h"

namespace kura::node {

// Limits on what one snapshot may hold. A plain value.
struct SnapshotLimits {
  size_t max_files = 100;
  int64_t max_total_bytes = 256ll << 20;
};

// One snapshot, as stored: <snapshots>/<id>/files/<path>, root-owned, files 0400.
struct OutputSnapshot {
  std::string id;   // SHA-256 (hex) over the sorted (path, size, sha256) of its files
  std::string dir;  // <snapshots>/<id>/files
  std::vector<v1::OutputFile> files;  // in the order asked for
};

// Whether `path` may name a file in /outputs: relative, no "." or ".." or empty components,
// at most 512 bytes, no control characters. InvalidArgument saying why otherwise. Pure.
absl::Status CheckOutputPath(const std::string& path);

// Copies `paths` (relative to `outputs_dir`, a workspace's /outputs, whose tree the workspace's
// code controls) into a new snapshot under `snapshots_dir`. Each file is opened with openat2
// (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS, O_NOFOLLOW), checked with fstat on the opened
// descriptor and copied from it, so a path swapped after the check gains nothing. Refuses,
// with InvalidArgument naming the path and the reason: a path leaving /outputs, a symlink
// anywhere on the path, a hard link (more than one link), a directory, device, FIFO or socket,
// a file over `policy.max_file_bytes` or the snapshot over `limits`, a type not in
// `policy.allowed_types`, and a path given twice. NotFound for a missing file. Makes system
// calls; thread-safe for distinct snapshots.
absl::StatusOr<OutputSnapshot> SnapshotOutputFiles(const std::string& outputs_dir,
                                                   const std::string& snapshots_dir,
                                                   const std::vector<std::string>& paths,
                                                   const disclosure::Policy& policy,
                                                   const SnapshotLimits& limits = {});

// One file of a snapshot, open for reading: what OpenSnapshotFile returns and ReadSnapshotChunk
// reads. Move-only (it owns the descriptor); concurrent ReadSnapshotChunk calls are safe (pread).
struct SnapshotFile {
  UniqueFd fd;       // O_RDONLY | O_CLOEXEC
  int64_t size = 0;  // at open; a snapshot never changes
  std::string path;  // as asked for, relative to the snapshot's files
};

// Opens `path` in snapshot `snapshot_id` under `snapshots_dir` with openat2 (RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS, O_NOFOLLOW) beneath the snapshot's files; it must be a regular file.
// InvalidArgument for an id that is not 64 lowercase hex digits, a path that is not a plain
// relative one (CheckOutputPath) or one naming anything but a regular file; NotFound
// when the snapshot or file does not exist. Reads nothing. Makes system calls; thread-safe.
absl::StatusOr<SnapshotFile> OpenSnapshotFile(const std::string& snapshots_dir,
                                              const std::string& snapshot_id,
                                              const std::string& path);

// Reads `file` from `offset` into `out` (replacing its contents): `max_bytes`, or fewer where
// the file's size ends sooner, nothing at or past its end. DataLoss when the file ends before
// the size it had at open. Makes system calls; thread-safe for distinct `out`.
absl::Status ReadSnapshotChunk(const SnapshotFile& file, int64_t offset, size_t max_bytes,
                               std::string* out);

// Runs the disclosure checker on `snapshot`'s files with the workspace's schemas and `specs`
// (verified mode for each file a spec describes), in this process. Every schema's manifest
// must still hash to what the workspace was opened with (FailedPrecondition otherwise); specs
// must all name one of the workspace's schemas (InvalidArgument otherwise). The report's paths
// are the files' paths in /outputs and the specs' names.
absl::StatusOr<disclosure::Report> CheckSnapshot(
    const OutputSnapshot& snapshot, const std::vector<v1::MountSchema>& schemas,
    const std::vector<v1::TableSpecDocument>& specs, const disclosure::Policy& policy,
    std::vector<v1::SchemaIdentity>* identities);

}  // namespace kura::node
