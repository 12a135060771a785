#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kura/v1/common.pb.h"

namespace kura::node {

// Lists the regular files under `outputs_dir` (a workspace's /outputs) with size, SHA-256 and
// modification time, paths relative to it. Never follows a symlink (they, and sockets, FIFOs
// and devices, are skipped: the workspace's code controls this tree). At most `max_files`
// files, 32 levels deep; ResourceExhausted beyond. Makes system calls; thread-safe.
absl::StatusOr<std::vector<v1::OutputFile>> ListOutputFiles(const std::string& outputs_dir,
                                                            size_t max_files = 10000);

}  // namespace kura::node
