#pragma once

// The researcher's terminal during `kura shell`: raw mode for the session's lifetime (every
// byte, Ctrl-C included, goes to the workload; the local line discipline is off) and the
// window size for resizes. Restores the saved mode when destroyed. Not thread-safe.

#include <termios.h>

#include <optional>

#include "absl/status/statusor.h"

namespace kura::cli {

struct WindowSize {
  unsigned rows = 24;
  unsigned cols = 80;
};

// The size of the terminal on `fd`; nullopt when it is not a terminal.
std::optional<WindowSize> TerminalWindowSize(int fd);

class RawTerminal final {
 public:
  // Puts `fd` (a terminal) into raw mode.
  static absl::StatusOr<RawTerminal> Enter(int fd);
  RawTerminal(RawTerminal&& other) noexcept;
  RawTerminal& operator=(RawTerminal&&) = delete;
  RawTerminal(const RawTerminal&) = delete;
  ~RawTerminal();

 private:
  RawTerminal(int fd, const termios& saved) : fd_(fd), saved_(saved) {}
  int fd_ = -1;
  termios saved_{};
};

}  // namespace kura::cli
