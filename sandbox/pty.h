#pragma once

#include <cstdint>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace kura::sandbox {

// A pseudo-terminal pair: the launcher keeps the master, the workload gets the slave as its
// controlling terminal and stdio.
struct PtyPair {
  UniqueFd master;
  UniqueFd slave;
};

// Opens a new pty from the host's /dev/ptmx, unlocked, with the given window size (0 leaves the
// kernel's default).
absl::StatusOr<PtyPair> OpenPty(uint32_t rows, uint32_t cols);

// Sets the window size of the terminal behind `fd` (master or slave); the foreground process
// group of the terminal gets SIGWINCH.
absl::Status ResizeTerminal(int fd, uint32_t rows, uint32_t cols);

}  // namespace kura::sandbox
