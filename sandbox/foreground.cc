#include "sandbox/foreground.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "absl/cleanup/cleanup.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace kura::sandbox {
namespace {

bool WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) {
      pollfd writable{fd, POLLOUT, 0};
      poll(&writable, 1, -1);
      continue;
    }
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Copies what `from` has now to `to`. Returns false at EOF or error (EIO: the pty's last
// slave closed).
bool Pump(int from, int to) {
  char buffer[16384];
  ssize_t n = read(from, buffer, sizeof(buffer));
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) return false;
  return WriteAll(to, buffer, static_cast<size_t>(n));
}

void CopyWindowSize(int terminal, Sandbox& sandbox) {
  winsize size{};
  if (ioctl(terminal, TIOCGWINSZ, &size) == 0 && size.ws_row > 0) {
    sandbox.Resize(size.ws_row, size.ws_col).IgnoreError();
  }
}

sigset_t ForwardedSignals() {
  sigset_t forwarded;
  sigemptyset(&forwarded);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH}) sigaddset(&forwarded, sig);
  return forwarded;
}

// Passes the signals kura-sandbox received on: a window-size change to the pty, the rest to the
// sandbox's init.
void ForwardSignals(int signals, bool raw, int in, Sandbox& sandbox) {
  signalfd_siginfo info;
  while (read(signals, &info, sizeof(info)) == sizeof(info)) {
    if (info.ssi_signo == SIGWINCH) {
      if (raw) CopyWindowSize(in, sandbox);
    } else {
      sandbox.Signal(static_cast<int>(info.ssi_signo)).IgnoreError();
    }
  }
}

// Copies what is left in the pty (what the workload wrote just before it ended).
void DrainOutput(int master, int out) {
  char buffer[16384];
  ssize_t n;
  while ((n = read(master, buffer, sizeof(buffer))) > 0) {
    WriteAll(out, buffer, static_cast<size_t>(n));
  }
}

int MillisecondsToDeadline(const Sandbox& sandbox) {
  if (sandbox.deadline() == absl::InfiniteFuture()) return -1;
  return static_cast<int>(std::clamp<int64_t>(
      absl::ToInt64Milliseconds(sandbox.deadline() - absl::Now()) + 1, 0, 60000));
}

}  // namespace

void BlockForwardedSignals() {
  sigset_t forwarded = ForwardedSignals();
  pthread_sigmask(SIG_BLOCK, &forwarded, nullptr);
}

absl::StatusOr<v1::SandboxResult> RunInForeground(Sandbox& sandbox, int in, int out) {
  sigset_t forwarded = ForwardedSignals(), previous;
  if (sigprocmask(SIG_BLOCK, &forwarded, &previous) != 0) return ErrnoError("sigprocmask");
  absl::Cleanup restore_mask = [&] { sigprocmask(SIG_SETMASK, &previous, nullptr); };
  UniqueFd signals(signalfd(-1, &forwarded, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signals) return ErrnoError("signalfd");

  const int master = sandbox.terminal_fd();
  termios saved{};
  bool raw = master >= 0 && isatty(in) && tcgetattr(in, &saved) == 0;
  if (raw) {
    termios mode = saved;
    cfmakeraw(&mode);
    tcsetattr(in, TCSANOW, &mode);
    CopyWindowSize(in, sandbox);
  }
  absl::Cleanup restore_terminal = [&] {
    if (raw) tcsetattr(in, TCSANOW, &saved);
  };
  if (master >= 0) fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);

  bool input_open = master >= 0;
  bool output_open = master >= 0;
  for (;;) {
    pollfd fds[4] = {{sandbox.exit_fd(), POLLIN, 0},
                     {signals.get(), POLLIN, 0},
                     {output_open ? master : -1, POLLIN, 0},
                     {input_open ? in : -1, POLLIN, 0}};
    int n = poll(fds, 4, MillisecondsToDeadline(sandbox));
    if (n < 0 && errno != EINTR) return ErrnoError("poll", "foreground sandbox");
    if (n == 0 && absl::Now() >= sandbox.deadline()) break;  // Wait enforces the limit
    if (fds[0].revents != 0) break;
    if (fds[1].revents != 0) ForwardSignals(signals.get(), raw, in, sandbox);
    if (fds[2].revents != 0) output_open = Pump(master, out);
    if (fds[3].revents != 0 && !Pump(in, master)) {
      // End of our input: the terminal's end-of-file character, as a user typing ^D.
      input_open = false;
      const char eof = 4;
      WriteAll(master, &eof, 1);
    }
  }
  if (output_open) DrainOutput(master, out);
  return sandbox.Wait();
}

}  // namespace kura::sandbox
