#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <string>

#include "common/child_process.h"
#include "common/crypto.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/status_matchers.h"

namespace kura {
namespace {

using ::kura::testing::IsOk;
using ::kura::testing::StatusIs;
using ::testing::HasSubstr;

TEST(StatusTest, ErrnoErrorNamesCallAndArgument) {
  absl::Status status = ErrnoError("openat", "/data/claims", ENOENT);
  EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound, HasSubstr("openat(/data/claims)")));
  EXPECT_THAT(ErrnoError("mount", "/x", EPERM), StatusIs(absl::StatusCode::kPermissionDenied));
}

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0) return absl::InvalidArgumentError("odd");
  return x / 2;
}

absl::StatusOr<int> Quarter(int x) {
  KURA_ASSIGN_OR_RETURN(int half, Half(x));
  KURA_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

TEST(StatusTest, AssignOrReturnPropagates) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_THAT(Quarter(6), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(UniqueFdTest, ClosesOnDestructionAndMove) {
  int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(raw, 0);
  {
    UniqueFd fd(raw);
    UniqueFd moved = std::move(fd);
    EXPECT_FALSE(fd.valid());
    EXPECT_EQ(moved.get(), raw);
  }
  EXPECT_EQ(::fcntl(raw, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
}

TEST(ChildProcessTest, ReportsExitCodeAndSignal) {
  KURA_ASSERT_OK_AND_ASSIGN(auto ok, ChildProcess::Spawn({"sh", "-c", "exit 7"}, {}));
  KURA_ASSERT_OK_AND_ASSIGN(ExitStatus status, ok.Wait());
  EXPECT_FALSE(status.signaled);
  EXPECT_EQ(status.code, 7);

  KURA_ASSERT_OK_AND_ASSIGN(auto sleeper, ChildProcess::Spawn({"sleep", "30"}, {}));
  ASSERT_THAT(sleeper.Signal(SIGTERM), IsOk());
  KURA_ASSERT_OK_AND_ASSIGN(status, sleeper.Wait());
  EXPECT_TRUE(status.signaled);
  EXPECT_EQ(status.signal, SIGTERM);
  EXPECT_EQ(status.ShellCode(), 128 + SIGTERM);
  EXPECT_THAT(sleeper.Signal(SIGTERM), StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST(ChildProcessTest, DestructorKillsAndReapsAnUnwaitedChild) {
  pid_t pid;
  {
    KURA_ASSERT_OK_AND_ASSIGN(auto child, ChildProcess::Spawn({"sleep", "30"}, {}));
    pid = child.pid();
    KURA_ASSERT_OK_AND_ASSIGN(auto still_running, child.TryWait());
    EXPECT_FALSE(still_running.has_value());
  }
  // Reaped: the pid no longer names our child.
  EXPECT_EQ(::kill(pid, 0), -1);
}

TEST(ChildProcessTest, EnvironmentIsExactlyWhatWasGiven) {
  int pipe_fds[2];
  ASSERT_EQ(::pipe2(pipe_fds, O_CLOEXEC), 0);
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  ::setenv("KURA_TEST_SECRET", "launcher-only", 1);
  ChildProcess::Options options;
  options.env = {"PATH=/usr/bin:/bin", "ONLY=this"};
  options.stdout_fd = write_end.get();
  KURA_ASSERT_OK_AND_ASSIGN(auto child, ChildProcess::Spawn({"env"}, options));
  write_end.Reset();
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = ::read(read_end.get(), buf, sizeof(buf))) > 0) out.append(buf, n);
  ASSERT_THAT(child.Wait(), IsOk());
  EXPECT_EQ(out, "PATH=/usr/bin:/bin\nONLY=this\n");
}

TEST(CryptoTest, Sha256MatchesKnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  char path[] = "/tmp/kura-sha-XXXXXX";
  int fd = ::mkstemp(path);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, "abc", 3), 3);
  ::close(fd);
  KURA_ASSERT_OK_AND_ASSIGN(std::string digest, Sha256FileHex(path));
  ::unlink(path);
  EXPECT_EQ(digest, Sha256Hex("abc"));
  EXPECT_THAT(Sha256FileHex("/nonexistent/kura"), StatusIs(absl::StatusCode::kNotFound));
}

TEST(CryptoTest, RandomBytesDiffer) {
  KURA_ASSERT_OK_AND_ASSIGN(std::string a, RandomBytes(32));
  KURA_ASSERT_OK_AND_ASSIGN(std::string b, RandomBytes(32));
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
}

}  // namespace
}  // namespace kura
