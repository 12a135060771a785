#include "cli/terminal.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <utility>

#include "common/status.h"

namespace kura::cli {

std::optional<WindowSize> TerminalWindowSize(int fd) {
  winsize size{};
  if (!isatty(fd) || ioctl(fd, TIOCGWINSZ, &size) != 0 || size.ws_row == 0) return std::nullopt;
  return WindowSize{size.ws_row, size.ws_col};
}

absl::StatusOr<RawTerminal> RawTerminal::Enter(int fd) {
  termios saved{};
  if (tcgetattr(fd, &saved) != 0) return ErrnoError("tcgetattr", "stdin");
  termios raw = saved;
  cfmakeraw(&raw);
  if (tcsetattr(fd, TCSANOW, &raw) != 0) return ErrnoError("tcsetattr", "stdin");
  return RawTerminal(fd, saved);
}

RawTerminal::RawTerminal(RawTerminal&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), saved_(other.saved_) {}

RawTerminal::~RawTerminal() {
  if (fd_ >= 0) tcsetattr(fd_, TCSANOW, &saved_);
}

}  // namespace kura::cli
