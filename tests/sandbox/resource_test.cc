// Resource attacks a workload may try, and what stops each: a fork bomb (pids), a memory bomb
// (memory, reported as an OOM kill), a disk fill (the --disk cap, earlier data intact), a
// process that never ends (wall time), and the launcher's own death (nothing survives it).
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/child_process.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sandbox/sandbox.h"
#include "tests/common/status_matchers.h"
#include "tests/sandbox/sandbox_testing.h"

namespace kura::sandbox {
namespace {

using ::testing::HasSubstr;
using namespace ::kura::sandbox::testing;

TEST(ResourceTest, ForkBombIsStoppedByThePidsLimit) {
  KURA_REQUIRE_ROOT();
  v1::SandboxSpec spec = HostSpec({"python3", "-c", R"(
import os, time
started = 0
try:
    for _ in range(500):
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
        started += 1
    print('unbounded', started)
except BlockingIOError:
    print('stopped', started)
)"});
  spec.mutable_limits()->set_pids(20);
  KURA_ASSERT_OK_AND_ASSIGN(Captured run, RunCaptured(spec));
  EXPECT_EQ(run.result.reason(), v1::SandboxResult::EXITED) << run.err;
  // init and python hold 2 of the 20.
  EXPECT_EQ(run.out, "stopped 18\n") << run.err;
}

TEST(ResourceTest, MemoryBombIsOomKilledAndReportedSo) {
  KURA_REQUIRE_ROOT();
  v1::SandboxSpec spec =
      HostSpec({"python3", "-c", "chunks = []\nwhile True: chunks.append(b'x' * (8 << 20))\n"});
  spec.mutable_limits()->set_memory_bytes(64ull << 20);
  KURA_ASSERT_OK_AND_ASSIGN(Captured run, RunCaptured(spec));
  EXPECT_EQ(run.result.reason(), v1::SandboxResult::OOM_KILLED) << run.err;
  EXPECT_EQ(run.result.signal(), SIGKILL);
  EXPECT_GT(run.result.peak_memory_bytes(), 32ull << 20);
  EXPECT_LE(run.result.peak_memory_bytes(), 64ull << 20);
}

TEST(ResourceTest, DiskFillStopsAtTheCapWithEarlierDataIntact) {
  KURA_REQUIRE_ROOT();
  v1::SandboxSpec spec = HostSpec({"python3", "-c", R"(
import errno
open('/work/results.csv', 'w').write('kept,1\n' * 1000)
written = 0
try:
    with open('/work/fill.bin', 'wb') as f:
        while True:
            f.write(b'\0' * 65536)
            f.flush()
            written += 65536
except OSError as e:
    print(errno.errorcode[e.errno], written <= 4 << 20)
print(open('/work/results.csv').read() == 'kept,1\n' * 1000)
)"});
  v1::Mount* work = spec.add_mounts();
  work->set_kind(v1::Mount::TMPFS);
  work->set_target("/work");
  spec.mutable_limits()->set_disk_bytes(4 << 20);
  KURA_ASSERT_OK_AND_ASSIGN(Captured run, RunCaptured(spec));
  EXPECT_EQ(run.result.reason(), v1::SandboxResult::EXITED) << run.err;
  EXPECT_EQ(run.out, "ENOSPC True\nTrue\n") << run.err;
}

TEST(ResourceTest, FileSizeLimitStopsOneLargeFile) {
  KURA_REQUIRE_ROOT();
  v1::SandboxSpec spec = HostSpec({"/bin/sh", "-c", "head -c 2000000 /dev/zero > /work/big"});
  v1::Mount* work = spec.add_mounts();
  work->set_kind(v1::Mount::TMPFS);
  work->set_target("/work");
  spec.mutable_limits()->set_file_size_bytes(1 << 20);
  KURA_ASSERT_OK_AND_ASSIGN(Captured run, RunCaptured(spec));
  // RLIMIT_FSIZE: SIGXFSZ for whoever writes past it.
  EXPECT_THAT(run.err, HasSubstr("File size limit exceeded"));
  EXPECT_NE(run.result.exit_code(), 0);
}

TEST(ResourceTest, WallTimeLimitKillsTheSandbox) {
  KURA_REQUIRE_ROOT();
  v1::SandboxSpec spec = HostSpec({"/bin/sleep", "600"});
  spec.mutable_limits()->set_wall_time_seconds(1);
  KURA_ASSERT_OK_AND_ASSIGN(Captured run, RunCaptured(spec));
  EXPECT_EQ(run.result.reason(), v1::SandboxResult::WALL_TIME_EXCEEDED);
}

// Processes of the host whose command line contains `marker`.
std::vector<pid_t> ProcessesWithMarker(const std::string& marker) {
  std::vector<pid_t> found;
  DIR* proc = opendir("/proc");
  while (dirent* entry = readdir(proc)) {
    pid_t pid = atoi(entry->d_name);
    if (pid <= 0 || pid == getpid()) continue;
    std::ifstream in(absl::StrCat("/proc/", pid, "/cmdline"));
    std::stringstream cmdline;
    cmdline << in.rdbuf();
    if (absl::StrContains(cmdline.str(), marker)) found.push_back(pid);
  }
  closedir(proc);
  return found;
}

TEST(ResourceTest, KillingTheLauncherLeavesNoProcessOfTheSandbox) {
  KURA_REQUIRE_ROOT();
  const std::string marker = absl::StrCat("kura-launcher-death-", getpid());
  int out[2];
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  UniqueFd out_read(out[0]), out_write(out[1]);
  ChildProcess::Options options;
  options.stdout_fd = out_write.get();
  KURA_ASSERT_OK_AND_ASSIGN(
      ChildProcess launcher,
      ChildProcess::Spawn(
          {KURA_SANDBOX_BIN, "run", "--host-rootfs", "--ro-bind", KURA_TEST_PROGRAMS_DIR,
           kProgramsMount, "--", absl::StrCat(kProgramsMount, "/kura_spinner"), marker, "4"},
          options));
  out_write.Reset();
  char ready[6] = {};
  ASSERT_EQ(read(out_read.get(), ready, 6), 6);
  ASSERT_EQ(std::string(ready, 6), "ready\n");
  // The launcher, the workload and its 4 children. Init is a copy of the launcher but has
  // overwritten its command line: it is the launcher's child named kura-init.
  ASSERT_EQ(ProcessesWithMarker(marker).size(), 6u);
  const std::vector<pid_t> inits = ProcessesWithMarker("kura-init");
  pid_t init = 0;
  for (pid_t pid : inits) {
    std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
    std::string fields((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const size_t name_end = fields.rfind(')');
    if (name_end != std::string::npos &&
        atoi(fields.c_str() + name_end + 4) == launcher.pid()) {  // ") S <ppid>"
      init = pid;
    }
  }
  ASSERT_NE(init, 0) << "no kura-init child of the launcher";
  ASSERT_THAT(launcher.Signal(SIGKILL), kura::testing::IsOk());
  KURA_ASSERT_OK_AND_ASSIGN(ExitStatus status, launcher.Wait());
  EXPECT_TRUE(status.signaled);
  // Init dies with its parent (PR_SET_PDEATHSIG) and takes the PID namespace along; that takes
  // the kernel a moment, so look again until none is left or 10 s have passed.
  std::vector<pid_t> left = ProcessesWithMarker(marker);
  for (int attempt = 0; attempt < 1000 && !left.empty(); ++attempt) {
    timespec pause{0, 10'000'000};
    nanosleep(&pause, nullptr);
    left = ProcessesWithMarker(marker);
  }
  EXPECT_TRUE(left.empty()) << left.size() << " processes of the sandbox outlived its launcher";
  // Init is gone, or dead and waiting for its new parent to reap it.
  auto init_alive = [init] {
    std::ifstream stat(absl::StrCat("/proc/", init, "/stat"));
    std::string fields((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const size_t name_end = fields.rfind(')');
    return name_end != std::string::npos && fields.size() > name_end + 2 &&
           fields[name_end + 2] != 'Z';
  };
  for (int attempt = 0; attempt < 1000 && init_alive(); ++attempt) {
    timespec pause{0, 10'000'000};
    nanosleep(&pause, nullptr);
  }
  EXPECT_FALSE(init_alive()) << "the sandbox's init outlived its launcher";
  // Pipes of the sandbox are closed: nothing holds the write end any more.
  char byte;
  EXPECT_EQ(read(out_read.get(), &byte, 1), 0);
}

TEST(ResourceTest, SignalsToKuraSandboxReachTheWorkload) {
  KURA_REQUIRE_ROOT();
  int out[2];
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  UniqueFd out_read(out[0]), out_write(out[1]);
  ChildProcess::Options options;
  options.stdout_fd = out_write.get();
  KURA_ASSERT_OK_AND_ASSIGN(
      ChildProcess launcher,
      ChildProcess::Spawn({KURA_SANDBOX_BIN, "run", "--host-rootfs", "--", "python3", "-c",
                           "import signal, sys\n"
                           "signal.signal(signal.SIGTERM, lambda *_: sys.exit(42))\n"
                           "print('ready', flush=True)\n"
                           "signal.pause()\n"},
                          options));
  out_write.Reset();
  char ready[6] = {};
  ASSERT_EQ(read(out_read.get(), ready, 6), 6);
  ASSERT_THAT(launcher.Signal(SIGTERM), kura::testing::IsOk());
  KURA_ASSERT_OK_AND_ASSIGN(ExitStatus status, launcher.Wait());
  EXPECT_FALSE(status.signaled) << "kura-sandbox died of the signal it should have forwarded";
  EXPECT_EQ(status.code, 42);
}

}  // namespace
}  // namespace kura::sandbox
