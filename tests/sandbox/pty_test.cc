// --tty: an interactive shell driven through the pty master, window-size changes included.
#include "sandbox/pty.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <string>

#include "absl/strings/match.h"
#include "common/child_process.h"
#include "gtest/gtest.h"
#include "sandbox/sandbox.h"
#include "tests/common/status_matchers.h"
#include "tests/sandbox/sandbox_testing.h"

namespace kura::sandbox {
namespace {

using namespace ::kura::sandbox::testing;

// Reads from the pty master until `expected` has appeared in what was read since the last call,
// or 10 s pass (then the test fails showing what came).
void ExpectOutput(int master, std::string* seen, const std::string& expected) {
  for (int waited_ms = 0; waited_ms < 10000 && !absl::StrContains(*seen, expected);) {
    pollfd readable{master, POLLIN, 0};
    if (poll(&readable, 1, 100) <= 0) {
      waited_ms += 100;
      continue;
    }
    char buffer[1024];
    ssize_t n = read(master, buffer, sizeof(buffer));
    if (n <= 0) break;
    seen->append(buffer, static_cast<size_t>(n));
  }
  ASSERT_TRUE(absl::StrContains(*seen, expected)) << "waiting for \"" << expected << "\", got:\n"
                                                  << *seen;
  seen->erase(0, seen->find(expected) + expected.size());
}

void Type(int master, const std::string& line) {
  ASSERT_EQ(write(master, line.data(), line.size()), static_cast<ssize_t>(line.size()));
}

TEST(PtyTest, InteractiveShellWithControllingTerminalAndResize) {
  KURA_REQUIRE_ROOT();
  v1::SandboxSpec spec = HostSpec({"/bin/sh", "-i"});
  spec.set_tty(true);
  spec.mutable_terminal_size()->set_rows(24);
  spec.mutable_terminal_size()->set_cols(80);
  spec.add_env("PS1=kura$ ");
  KURA_ASSERT_OK_AND_ASSIGN(Sandbox sandbox, Launch(spec));
  const int master = sandbox.terminal_fd();
  ASSERT_GE(master, 0);
  std::string seen;
  ASSERT_NO_FATAL_FAILURE(ExpectOutput(master, &seen, "kura$ "));
  // Arithmetic, so that the echo of the typed line cannot pass for the answer.
  Type(master, "[ -t 0 ] && [ -t 1 ] && echo tty-$((20+1)); stty size\n");
  ASSERT_NO_FATAL_FAILURE(ExpectOutput(master, &seen, "tty-21"));
  ASSERT_NO_FATAL_FAILURE(ExpectOutput(master, &seen, "24 80"));
  // It is the controlling terminal: job control puts a command in the foreground on it.
  Type(master, "python3 -c \"import os; print('fg', os.tcgetpgrp(0) == os.getpgrp())\"\n");
  ASSERT_NO_FATAL_FAILURE(ExpectOutput(master, &seen, "fg True"));
  ASSERT_THAT(sandbox.Resize(30, 100), kura::testing::IsOk());
  Type(master, "stty size\n");
  ASSERT_NO_FATAL_FAILURE(ExpectOutput(master, &seen, "30 100"));
  Type(master, "exit 3\n");
  KURA_ASSERT_OK_AND_ASSIGN(v1::SandboxResult result, sandbox.Wait());
  EXPECT_EQ(result.reason(), v1::SandboxResult::EXITED);
  EXPECT_EQ(result.exit_code(), 3);
}

TEST(PtyTest, WindowChangeReachesTheWorkloadAsSigwinch) {
  KURA_REQUIRE_ROOT();
  v1::SandboxSpec spec = HostSpec({"python3", "-c", R"(
import os, signal
sizes = []
signal.signal(signal.SIGWINCH, lambda *_: sizes.append(os.get_terminal_size()))
print('waiting', flush=True)
input()
print('winch', *sizes[-1])
)"});
  spec.set_tty(true);
  KURA_ASSERT_OK_AND_ASSIGN(Sandbox sandbox, Launch(spec));
  std::string seen;
  ASSERT_NO_FATAL_FAILURE(ExpectOutput(sandbox.terminal_fd(), &seen, "waiting"));
  ASSERT_THAT(sandbox.Resize(50, 132), kura::testing::IsOk());
  // Typed after the resize: the line ends the wait, and the program then says what it got.
  Type(sandbox.terminal_fd(), "go\n");
  ASSERT_NO_FATAL_FAILURE(ExpectOutput(sandbox.terminal_fd(), &seen, "winch 132 50"));
  KURA_ASSERT_OK_AND_ASSIGN(v1::SandboxResult result, sandbox.Wait());
  EXPECT_EQ(result.exit_code(), 0);
}

TEST(PtyTest, KuraSandboxRelaysItsTerminalAndWindowSize) {
  KURA_REQUIRE_ROOT();
  // The user's terminal: kura-sandbox gets the slave as its stdio, the test types on the master.
  KURA_ASSERT_OK_AND_ASSIGN(PtyPair user_terminal, OpenPty(24, 80));
  ChildProcess::Options options;
  options.stdin_fd = user_terminal.slave.get();
  options.stdout_fd = user_terminal.slave.get();
  options.stderr_fd = user_terminal.slave.get();
  options.new_session = true;
  KURA_ASSERT_OK_AND_ASSIGN(ChildProcess launcher,
                            ChildProcess::Spawn({KURA_SANDBOX_BIN, "run", "--host-rootfs", "--tty",
                                                 "--env", "PS1=kura$ ", "--", "/bin/sh", "-i"},
                                                options));
  user_terminal.slave.Reset();
  const int master = user_terminal.master.get();
  std::string seen;
  ASSERT_NO_FATAL_FAILURE(ExpectOutput(master, &seen, "kura$ "));
  Type(master, "stty size\n");
  ASSERT_NO_FATAL_FAILURE(ExpectOutput(master, &seen, "24 80"));
  // The user's window grows: the terminal tells kura-sandbox with SIGWINCH.
  ASSERT_THAT(ResizeTerminal(master, 40, 120), kura::testing::IsOk());
  ASSERT_THAT(launcher.Signal(SIGWINCH), kura::testing::IsOk());
  Type(master, "stty size\n");
  ASSERT_NO_FATAL_FAILURE(ExpectOutput(master, &seen, "40 120"));
  Type(master, "exit 5\n");
  KURA_ASSERT_OK_AND_ASSIGN(ExitStatus status, launcher.Wait());
  EXPECT_FALSE(status.signaled);
  EXPECT_EQ(status.code, 5);
}

}  // namespace
}  // namespace kura::sandbox
