#pragma once

// Files of a node's export snapshot, copied to the gateway before they go anywhere: the bytes a
// reviewer reads or a release carries are exactly the bytes whose size and SHA-256 were recorded
// when the request was made, whatever the node sends later. Each file is held in an unnamed
// file (created and unlinked at once) in a directory only the gateway can read, so releases of
// hundreds of megabytes pass through in 1 MiB pieces without being held in memory.
// Thread-compatible; SpoolSnapshotFile is thread-safe for distinct files.

#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/unique_fd.h"
#include "kura/v1/gateway.pb.h"
#include "kura/v1/node.grpc.pb.h"

namespace kura::gateway {

// The most bytes in one chunk sent to a client.
inline constexpr size_t kFileChunkBytes = 1 << 20;

struct SpooledFile {
  std::string path;
  uint64_t size = 0;
  std::string sha256;
  UniqueFd fd;  // an unnamed file holding the bytes
};

// Reads `path` of snapshot `snapshot_id` from `stub` (node `node`) into an unnamed file in
// `spool_dir` (created 0700 when missing). FailedPrecondition "PATH no longer matches what was
// reviewed" when the node's bytes differ in size or SHA-256 from `size` and `sha256` (reading
// stops as soon as more than `size` bytes arrive); the node's own errors as FromNodeStatus
// gives them.
absl::StatusOr<SpooledFile> SpoolSnapshotFile(kura::v1::NodeAgent::StubInterface& stub,
                                              const std::string& node,
                                              const std::string& snapshot_id,
                                              const std::string& path, uint64_t size,
                                              const std::string& sha256,
                                              const std::string& spool_dir, absl::Time deadline);

// Sends `file` through `send` as FileChunks of at most kFileChunkBytes, the first carrying its
// path, size and SHA-256 (an empty file is one chunk). Unavailable when `send` returns false
// (the client went away); an error when the spooled file cannot be read.
absl::Status SendSpooledFile(const SpooledFile& file,
                             absl::FunctionRef<bool(const kura::v1::FileChunk&)> send);

}  // namespace kura::gateway
