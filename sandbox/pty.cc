#include "sandbox/pty.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <termios.h>

#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace kura::sandbox {

absl::StatusOr<PtyPair> OpenPty(uint32_t rows, uint32_t cols) {
  PtyPair pair;
  pair.master = UniqueFd(open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!pair.master) return ErrnoError("open", "/dev/ptmx");
  int unlock = 0;
  if (ioctl(pair.master.get(), TIOCSPTLCK, &unlock) != 0) return ErrnoError("ioctl", "TIOCSPTLCK");
  // TIOCGPTPEER opens the slave through the master, never through a path in /dev/pts that
  // someone else could have replaced.
  pair.slave = UniqueFd(ioctl(pair.master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!pair.slave) return ErrnoError("ioctl", "TIOCGPTPEER");
  if (rows > 0 && cols > 0) KURA_RETURN_IF_ERROR(ResizeTerminal(pair.master.get(), rows, cols));
  return pair;
}

absl::Status ResizeTerminal(int fd, uint32_t rows, uint32_t cols) {
  winsize size{};
  size.ws_row = static_cast<unsigned short>(rows);
  size.ws_col = static_cast<unsigned short>(cols);
  if (ioctl(fd, TIOCSWINSZ, &size) != 0) {
    return ErrnoError("ioctl", absl::StrCat("TIOCSWINSZ ", rows, "x", cols));
  }
  return absl::OkStatus();
}

}  // namespace kura::sandbox
