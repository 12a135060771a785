// The seccomp filter on the real kernel: each case forks a child that sets no_new_privs,
// installs a program, hands the listener to the parent (as the launcher does) and attempts
// one thing; the parent serves the listener with a DenialMonitor. No launcher needed.

#include "sandbox/seccomp.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/sysmacros.h>
#include <sys/timerfd.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sandbox/seccomp_profile.h"
#include "tests/common/status_matchers.h"
#include "tests/sandbox/filtered_child.h"

namespace kura::sandbox {
namespace {

using ::kura::sandbox::seccomp_testing::AnalysisOrDie;
using ::kura::sandbox::seccomp_testing::ChildOutcome;
using ::kura::sandbox::seccomp_testing::ErrnoOf;
using ::kura::sandbox::seccomp_testing::kSetupFailed;
using ::kura::sandbox::seccomp_testing::kSucceeded;
using ::kura::sandbox::seccomp_testing::RunFiltered;

// A clone that must be refused; should it succeed, the new process leaves at once.
long CloneWithFlags(unsigned long flags) {
  const long r = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
  if (r == 0) _exit(0);
  if (r > 0) waitpid(static_cast<pid_t>(r), nullptr, 0);
  return r;
}

// Paths that do not exist, so that an attempt the filter wrongly let through still changes
// nothing on the machine running the test.
constexpr char kNowhere[] = "/nonexistent-kura-seccomp-test";

// An ioctl on /dev/null: had the filter let it through, the kernel would answer ENOTTY.
long TtyIoctl(unsigned long cmd) {
  const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  char c = 'x';
  return syscall(SYS_ioctl, fd, cmd, &c);
}

struct RefusedCase {
  const char* name;
  const char* counted_as;  // the syscall the monitor counts; nullptr: not counted (ENOSYS)
  int expected_errno;
  std::function<long()> attempt;
};

void PrintTo(const RefusedCase& c, std::ostream* os) { *os << c.name; }

const std::vector<RefusedCase>& RefusedCases() {
  static const auto* cases = new std::vector<RefusedCase>{
      {"mount", "mount", EPERM,
       [] { return (long)syscall(SYS_mount, "none", kNowhere, "tmpfs", 0, nullptr); }},
      {"umount2", "umount2", EPERM, [] { return syscall(SYS_umount2, kNowhere, 0); }},
      {"fsopen", "fsopen", EPERM, [] { return syscall(SYS_fsopen, "tmpfs", 0); }},
      {"fsconfig", "fsconfig", EPERM,
       [] { return syscall(SYS_fsconfig, -1, 0, nullptr, nullptr, 0); }},
      {"fsmount", "fsmount", EPERM, [] { return syscall(SYS_fsmount, -1, 0, 0); }},
      {"fspick", "fspick", EPERM, [] { return syscall(SYS_fspick, AT_FDCWD, "/", 0); }},
      {"move_mount", "move_mount", EPERM,
       [] { return syscall(SYS_move_mount, -1, "", AT_FDCWD, kNowhere, 0); }},
      {"open_tree", "open_tree", EPERM, [] { return syscall(SYS_open_tree, AT_FDCWD, "/", 0); }},
      {"mount_setattr", "mount_setattr", EPERM,
       [] { return syscall(SYS_mount_setattr, AT_FDCWD, "/", 0, nullptr, 0); }},
      {"pivot_root", "pivot_root", EPERM,
       [] { return syscall(SYS_pivot_root, kNowhere, kNowhere); }},
      {"chroot", "chroot", EPERM, [] { return syscall(SYS_chroot, "/"); }},
      {"unshare_user", "unshare", EPERM, [] { return syscall(SYS_unshare, CLONE_NEWUSER); }},
      {"unshare_files", "unshare", EPERM, [] { return syscall(SYS_unshare, CLONE_FILES); }},
      {"setns", "setns", EPERM, [] { return syscall(SYS_setns, 0, 0); }},
      {"clone_newuser", "clone", EPERM, [] { return CloneWithFlags(CLONE_NEWUSER); }},
      {"clone_newns", "clone", EPERM, [] { return CloneWithFlags(CLONE_NEWNS); }},
      {"clone_newnet", "clone", EPERM, [] { return CloneWithFlags(CLONE_NEWNET); }},
      {"clone_newpid_high_bits", "clone", EPERM,
       [] { return CloneWithFlags(0x100000000ul | CLONE_NEWPID); }},
      {"clone3", nullptr, ENOSYS, [] { return syscall(SYS_clone3, nullptr, 0); }},
      {"ptrace_traceme", "ptrace", EPERM,
       [] { return syscall(SYS_ptrace, 0 /*PTRACE_TRACEME*/, 0, 0, 0); }},
      {"process_vm_readv", "process_vm_readv", EPERM,
       [] { return syscall(SYS_process_vm_readv, getppid(), nullptr, 0, nullptr, 0, 0); }},
      {"process_vm_writev", "process_vm_writev", EPERM,
       [] { return syscall(SYS_process_vm_writev, getppid(), nullptr, 0, nullptr, 0, 0); }},
      {"pidfd_getfd", "pidfd_getfd", EPERM, [] { return syscall(SYS_pidfd_getfd, -1, 0, 0); }},
      {"kcmp", "kcmp", EPERM, [] { return syscall(SYS_kcmp, getpid(), getppid(), 0, 0, 0); }},
      {"bpf", "bpf", EPERM, [] { return syscall(SYS_bpf, 0, nullptr, 0); }},
      {"perf_event_open", "perf_event_open", EPERM,
       [] { return syscall(SYS_perf_event_open, nullptr, 0, -1, -1, 0); }},
      {"keyctl", "keyctl", EPERM, [] { return syscall(SYS_keyctl, 0, 0, 0, 0, 0); }},
      {"add_key", "add_key", EPERM,
       [] { return syscall(SYS_add_key, "user", "kura", "x", 1, -2); }},
      {"request_key", "request_key", EPERM,
       [] { return syscall(SYS_request_key, "user", "kura", nullptr, 0); }},
      {"userfaultfd", "userfaultfd", EPERM, [] { return syscall(SYS_userfaultfd, O_CLOEXEC); }},
      {"io_uring_setup", "io_uring_setup", EPERM,
       [] { return syscall(SYS_io_uring_setup, 1, nullptr); }},
      {"io_uring_enter", "io_uring_enter", EPERM,
       [] { return syscall(SYS_io_uring_enter, -1, 0, 0, 0, nullptr, 0); }},
      {"io_uring_register", "io_uring_register", EPERM,
       [] { return syscall(SYS_io_uring_register, -1, 0, nullptr, 0); }},
      {"init_module", "init_module", EPERM,
       [] { return syscall(SYS_init_module, nullptr, 0, ""); }},
      {"finit_module", "finit_module", EPERM, [] { return syscall(SYS_finit_module, -1, "", 0); }},
      {"delete_module", "delete_module", EPERM,
       [] { return syscall(SYS_delete_module, "kura_none", 0); }},
      // Invalid arguments throughout: should a filter ever let these through, they still do
      // nothing to the machine running the test.
      {"kexec_load", "kexec_load", EPERM,
       [] { return syscall(SYS_kexec_load, 0, 0, nullptr, 0xdead0000ul); }},
      {"kexec_file_load", "kexec_file_load", EPERM,
       [] { return syscall(SYS_kexec_file_load, -1, -1, 0, nullptr, 0); }},
      {"reboot", "reboot", EPERM, [] { return syscall(SYS_reboot, 0, 0, 0, nullptr); }},
      {"swapon", "swapon", EPERM, [] { return syscall(SYS_swapon, "/nonexistent", 0); }},
      {"swapoff", "swapoff", EPERM, [] { return syscall(SYS_swapoff, "/nonexistent"); }},
      {"clock_settime", "clock_settime", EPERM,
       [] {
         timespec ts{};
         return syscall(SYS_clock_settime, CLOCK_MONOTONIC, &ts);
       }},
      {"clock_adjtime", "clock_adjtime", EPERM,
       [] { return syscall(SYS_clock_adjtime, -1, nullptr); }},
      {"settimeofday", "settimeofday", EPERM,
       [] { return syscall(SYS_settimeofday, nullptr, nullptr); }},
      {"adjtimex", "adjtimex", EPERM, [] { return syscall(SYS_adjtimex, nullptr); }},
      {"acct", "acct", EPERM, [] { return syscall(SYS_acct, "/nonexistent"); }},
      {"syslog", "syslog", EPERM,
       [] { return syscall(SYS_syslog, 10 /*SIZE_BUFFER*/, nullptr, 0); }},
      {"open_by_handle_at", "open_by_handle_at", EPERM,
       [] { return syscall(SYS_open_by_handle_at, AT_FDCWD, nullptr, 0); }},
      {"name_to_handle_at", "name_to_handle_at", EPERM,
       [] { return syscall(SYS_name_to_handle_at, AT_FDCWD, "/", nullptr, nullptr, 0); }},
      {"quotactl", "quotactl", EPERM, [] { return syscall(SYS_quotactl, 0, nullptr, 0, nullptr); }},
      {"sysfs", "sysfs", EPERM, [] { return syscall(SYS_sysfs, 3); }},
      {"ustat", "ustat", EPERM, [] { return syscall(SYS_ustat, 0, nullptr); }},
      {"uselib", "uselib", EPERM, [] { return syscall(SYS_uselib, "/nonexistent"); }},
      {"iopl", "iopl", EPERM, [] { return syscall(SYS_iopl, 0); }},
      {"ioperm", "ioperm", EPERM, [] { return syscall(SYS_ioperm, 0, 0, 0); }},
      {"modify_ldt", "modify_ldt", EPERM, [] { return syscall(SYS_modify_ldt, 0, nullptr, 0); }},
      {"fanotify_init", "fanotify_init", EPERM, [] { return syscall(SYS_fanotify_init, 0, 0); }},
      {"memfd_secret", "memfd_secret", EPERM, [] { return syscall(SYS_memfd_secret, 0); }},
      {"sethostname", "sethostname", EPERM, [] { return syscall(SYS_sethostname, "x", 1000); }},
      {"lookup_dcookie", "lookup_dcookie", EPERM,
       [] { return syscall(SYS_lookup_dcookie, 0, nullptr, 0); }},
      {"vhangup", "vhangup", EPERM,
       [] {
         setsid();
         return syscall(SYS_vhangup);
       }},
      {"ioctl_tiocsti", "ioctl", EPERM, [] { return TtyIoctl(TIOCSTI); }},
      {"ioctl_tiocsti_high_bits", "ioctl", EPERM, [] { return TtyIoctl(0x100000000ul | TIOCSTI); }},
      {"ioctl_tioclinux", "ioctl", EPERM, [] { return TtyIoctl(TIOCLINUX); }},
      {"socket_inet", "socket", EPERM, [] { return syscall(SYS_socket, AF_INET, SOCK_STREAM, 0); }},
      {"socket_inet6", "socket", EPERM,
       [] { return syscall(SYS_socket, AF_INET6, SOCK_DGRAM, 0); }},
      {"socket_netlink", "socket", EPERM,
       [] { return syscall(SYS_socket, AF_NETLINK, SOCK_RAW, 0); }},
      {"socket_packet", "socket", EPERM,
       [] { return syscall(SYS_socket, AF_PACKET, SOCK_RAW, 0); }},
      {"socket_vsock", "socket", EPERM,
       [] { return syscall(SYS_socket, AF_VSOCK, SOCK_STREAM, 0); }},
      {"socket_inet_high_bits", "socket", EPERM,
       [] { return syscall(SYS_socket, 0x100000000ul | AF_INET, SOCK_STREAM, 0); }},
      {"socketpair_inet", "socketpair", EPERM,
       [] {
         int sv[2];
         return syscall(SYS_socketpair, AF_INET, SOCK_STREAM, 0, sv);
       }},
      {"personality_no_aslr", "personality", EPERM,
       [] { return syscall(SYS_personality, 0x0040000 /*ADDR_NO_RANDOMIZE*/); }},
      {"mknod_char_device", "mknodat", EPERM,
       [] { return syscall(SYS_mknodat, AT_FDCWD, kNowhere, S_IFCHR | 0600, makedev(1, 3)); }},
      {"mknod_block_device", "mknod", EPERM,
       [] { return syscall(SYS_mknod, kNowhere, S_IFBLK | 0600, makedev(7, 0)); }},
      {"unassigned_nr_400", nullptr, ENOSYS, [] { return syscall(400); }},
      {"beyond_table_1000", nullptr, ENOSYS, [] { return syscall(1000); }},
      {"newer_than_profile_457", nullptr, ENOSYS, [] { return syscall(kAnalysisMaxSyscall + 1); }},
      {"minus_one", nullptr, ENOSYS, [] { return syscall(-1); }},
  };
  return *cases;
}

class RefusedTest : public ::testing::TestWithParam<RefusedCase> {};

TEST_P(RefusedTest, FailsWithTheRightErrnoAndIsCountedWhenEperm) {
  const RefusedCase& c = GetParam();
  ChildOutcome outcome = RunFiltered(*AnalysisOrDie(), [&] {
    errno = 0;
    return ErrnoOf(c.attempt());
  });
  ASSERT_FALSE(outcome.signaled) << "killed by signal " << outcome.code;
  EXPECT_EQ(outcome.code, c.expected_errno)
      << "got " << (outcome.code == kSucceeded ? "success" : strerror(outcome.code));
  if (c.counted_as != nullptr) {
    EXPECT_EQ(outcome.CountOf(c.counted_as), 1u) << c.counted_as;
    EXPECT_EQ(outcome.total, 1u);
  } else {
    EXPECT_EQ(outcome.total, 0u) << "ENOSYS answers are not notifications";
  }
}

INSTANTIATE_TEST_SUITE_P(Analysis, RefusedTest, ::testing::ValuesIn(RefusedCases()),
                         [](const auto& info) { return std::string(info.param.name); });

struct AllowedCase {
  const char* name;
  std::function<bool()> attempt;  // true when the thing worked
};

void PrintTo(const AllowedCase& c, std::ostream* os) { *os << c.name; }

bool RunsThreads() {
  int sum = 0;
  std::vector<std::thread> threads;
  std::vector<int> parts(8, 0);
  for (int i = 0; i < 8; ++i) threads.emplace_back([&parts, i] { parts[i] = i; });
  for (auto& t : threads) t.join();
  for (int v : parts) sum += v;
  return sum == 28;
}

bool ForksAndWaits() {
  const pid_t pid = fork();
  if (pid == 0) _exit(7);
  int status = 0;
  return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
         WEXITSTATUS(status) == 7;
}

bool PlainCloneWorks() {
  const long r = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  if (r == 0) _exit(0);
  return r > 0 && waitpid(static_cast<pid_t>(r), nullptr, 0) == r;
}

bool UnixSocketpairCarriesBytes() {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return false;
  char c = 0;
  return write(sv[0], "k", 1) == 1 && read(sv[1], &c, 1) == 1 && c == 'k';
}

bool MemoryCallsWork() {
  void* p = mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  static_cast<char*>(p)[0] = 1;
  unsigned long nodemask = 0;
  return madvise(p, 1 << 20, MADV_DONTNEED) == 0 && mprotect(p, 4096, PROT_READ) == 0 &&
         syscall(SYS_get_mempolicy, nullptr, &nodemask, 64, nullptr, 0) == 0 &&
         munmap(p, 1 << 20) == 0;
}

bool DescriptorKindsWork() {
  const int mfd = static_cast<int>(syscall(SYS_memfd_create, "kura", MFD_CLOEXEC));
  const int efd = eventfd(0, EFD_CLOEXEC);
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  const int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  const int ifd = inotify_init1(IN_CLOEXEC);
  int pipefd[2];
  int available = -1;
  const bool pipe_ok = pipe2(pipefd, O_CLOEXEC) == 0 && write(pipefd[1], "ab", 2) == 2 &&
                       ioctl(pipefd[0], FIONREAD, &available) == 0 && available == 2;
  return mfd >= 0 && efd >= 0 && ep >= 0 && tfd >= 0 && ifd >= 0 && pipe_ok;
}

bool SchedulingAndPersonalityQueriesWork() {
  cpu_set_t set;
  CPU_ZERO(&set);
  return sched_getaffinity(0, sizeof set, &set) == 0 &&
         sched_setaffinity(0, sizeof set, &set) == 0 &&
         syscall(SYS_personality, 0xffffffffu) >= 0 && syscall(SYS_personality, 0) >= 0;
}

bool MakesAFifo() {
  char dir[] = "/tmp/kura-seccomp-XXXXXX";
  if (mkdtemp(dir) == nullptr) return false;
  const std::string fifo = std::string(dir) + "/fifo";
  const bool ok = mknod(fifo.c_str(), S_IFIFO | 0600, 0) == 0;
  unlink(fifo.c_str());
  rmdir(dir);
  return ok;
}

bool UnixSocketWithHighBitsInFamily() {
  // The kernel reads the family as an int; the filter compares the same 32 bits.
  return syscall(SYS_socket, 0x100000000ul | AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) >= 0;
}

class AllowedTest : public ::testing::TestWithParam<AllowedCase> {};

TEST_P(AllowedTest, WorksWithNothingRefused) {
  const AllowedCase& c = GetParam();
  ChildOutcome outcome = RunFiltered(*AnalysisOrDie(), [&] { return c.attempt() ? 0 : 1; });
  ASSERT_FALSE(outcome.signaled) << "killed by signal " << outcome.code;
  EXPECT_EQ(outcome.code, 0);
  for (const SeccompDenial& d : outcome.denials) {
    ADD_FAILURE() << "refused " << d.syscall_name << " x" << d.count;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Analysis, AllowedTest,
    ::testing::Values(AllowedCase{"threads", RunsThreads}, AllowedCase{"fork", ForksAndWaits},
                      AllowedCase{"clone_without_namespaces", PlainCloneWorks},
                      AllowedCase{"unix_socketpair", UnixSocketpairCarriesBytes},
                      AllowedCase{"unix_socket_high_bits", UnixSocketWithHighBitsInFamily},
                      AllowedCase{"memory", MemoryCallsWork},
                      AllowedCase{"descriptor_kinds", DescriptorKindsWork},
                      AllowedCase{"scheduling_personality", SchedulingAndPersonalityQueriesWork},
                      AllowedCase{"mkfifo", MakesAFifo}),
    [](const auto& info) { return std::string(info.param.name); });

// Execs `argv` under the filter; returns how it ended.
ChildOutcome ExecFiltered(const SeccompProgram& program, std::vector<std::string> argv) {
  return RunFiltered(program, [&] {
    std::vector<char*> args;
    for (std::string& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execvp(args[0], args.data());
    return 127;
  });
}

TEST(SeccompAnalysisTest, PythonWithThreadsRuns) {
  if (access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "python3 is not installed";
  ChildOutcome outcome = ExecFiltered(
      *AnalysisOrDie(),
      {"/usr/bin/python3", "-c",
       "import threading, subprocess, os, tempfile\n"
       "out = []\n"
       "ts = [threading.Thread(target=lambda i=i: out.append(i*i)) for i in range(8)]\n"
       "[t.start() for t in ts]; [t.join() for t in ts]\n"
       "assert sorted(out) == [i*i for i in range(8)]\n"
       "assert subprocess.run(['/bin/true']).returncode == 0\n"
       "with tempfile.TemporaryDirectory() as d:\n"
       "    open(os.path.join(d, 'x'), 'w').write('y')\n"});
  ASSERT_FALSE(outcome.signaled) << "killed by signal " << outcome.code;
  EXPECT_EQ(outcome.code, 0);
  for (const SeccompDenial& d : outcome.denials) {
    ADD_FAILURE() << "python3 was refused " << d.syscall_name << " x" << d.count;
  }
}

TEST(SeccompAnalysisTest, NumpyWithBlasThreadsRuns) {
  if (system("/usr/bin/python3 -c 'import numpy' 2>/dev/null") != 0) {
    GTEST_SKIP() << "python3-numpy is not installed";
  }
  ChildOutcome outcome = ExecFiltered(
      *AnalysisOrDie(), {"/usr/bin/python3", "-c",
                         "import numpy as np\n"
                         "a = np.arange(250000, dtype=np.float64).reshape(500, 500) / 1e5\n"
                         "b = a @ a.T\n"
                         "assert b.shape == (500, 500) and np.isfinite(b).all()\n"});
  ASSERT_FALSE(outcome.signaled) << "killed by signal " << outcome.code;
  EXPECT_EQ(outcome.code, 0);
  for (const SeccompDenial& d : outcome.denials) {
    ADD_FAILURE() << "numpy was refused " << d.syscall_name << " x" << d.count;
  }
}

TEST(SeccompAnalysisTest, X32SyscallKillsTheProcess) {
  ChildOutcome outcome =
      RunFiltered(*AnalysisOrDie(), [] { return ErrnoOf(syscall(0x40000000 | SYS_getpid)); });
  EXPECT_TRUE(outcome.signaled);
  EXPECT_EQ(outcome.code, SIGSYS);
}

// getpid through the i386 entry point; returns what the kernel answered.
int I386Getpid() {
  long result = 20;  // __NR_getpid on i386
  asm volatile("int $0x80" : "+a"(result) : : "memory");
  return result > 0 ? kSucceeded : static_cast<int>(-result);
}

TEST(SeccompAnalysisTest, ForeignArchitectureKillsTheProcess) {
  // Without 32-bit emulation (CONFIG_IA32_EMULATION, ia32_emulation=) the kernel itself
  // refuses int 0x80 before any filter runs.
  const pid_t probe = fork();
  if (probe == 0) _exit(I386Getpid());
  int status = 0;
  ASSERT_EQ(waitpid(probe, &status, 0), probe);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != kSucceeded) {
    GTEST_SKIP() << "this kernel runs no i386 syscalls";
  }
  ChildOutcome outcome = RunFiltered(*AnalysisOrDie(), I386Getpid);
  EXPECT_TRUE(outcome.signaled);
  EXPECT_EQ(outcome.code, SIGSYS);
}

// Forks a child that installs `analysis`, hands over the listener, then waits for a byte on
// `go` before calling chroot (refused); it exits with chroot's errno.
pid_t ForkRefusingChild(int listener_sock, int go) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(kSetupFailed);
    const int listener = AnalysisOrDie()->InstallInChild();
    if (listener < 0 || !seccomp_testing::SendFd(listener_sock, listener)) _exit(kSetupFailed);
    close(listener);
    char byte;
    if (read(go, &byte, 1) != 1) _exit(kSetupFailed);
    _exit(ErrnoOf(syscall(SYS_chroot, "/")));
  }
  return pid;
}

TEST(DenialMonitorTest, ALauncherThatStopsServingMakesRefusalsFailWithEnosysNotHang) {
  int sv[2], go[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  ASSERT_EQ(pipe2(go, O_CLOEXEC), 0);
  const pid_t pid = ForkRefusingChild(sv[1], go[0]);
  ASSERT_GT(pid, 0);
  close(sv[1]);
  close(go[0]);
  {
    DenialMonitor monitor(UniqueFd(seccomp_testing::ReceiveFd(sv[0])));
    // Destroyed while the sandbox still runs: the thread stops and the listener closes.
  }
  ASSERT_EQ(write(go[1], "g", 1), 1);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), ENOSYS);
  close(sv[0]);
  close(go[1]);
}

TEST(DenialMonitorTest, ARefusedCallWhoseProcessDiedIsNotAnsweredAndTheMonitorEnds) {
  int sv[2], go[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  ASSERT_EQ(pipe2(go, O_CLOEXEC), 0);
  const pid_t pid = ForkRefusingChild(sv[1], go[0]);
  ASSERT_GT(pid, 0);
  close(sv[1]);
  close(go[0]);
  UniqueFd listener(seccomp_testing::ReceiveFd(sv[0]));
  ASSERT_TRUE(listener.valid());
  // The child now blocks in its refused chroot, waiting for an answer nobody gives yet.
  ASSERT_EQ(write(go[1], "g", 1), 1);
  pollfd pending{listener.get(), POLLIN, 0};
  ASSERT_EQ(poll(&pending, 1, -1), 1);
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  // The notification died with its process; the monitor finds nothing to answer and its
  // thread ends on the listener's hang-up.
  DenialMonitor monitor(std::move(listener));
  EXPECT_EQ(monitor.total(), 0u);
  close(sv[0]);
  close(go[1]);
}

TEST(SeccompAnalysisTest, RepeatedRefusalsAreCountedEachTime) {
  ChildOutcome outcome = RunFiltered(*AnalysisOrDie(), [] {
    for (int i = 0; i < 5; ++i) syscall(SYS_chroot, "/");
    for (int i = 0; i < 3; ++i) syscall(SYS_bpf, 0, nullptr, 0);
    return 0;
  });
  EXPECT_EQ(outcome.code, 0);
  EXPECT_EQ(outcome.total, 8u);
  EXPECT_EQ(outcome.CountOf("chroot"), 5u);
  EXPECT_EQ(outcome.CountOf("bpf"), 3u);
}

TEST(SeccompAnalysisTest, ListenerIsCloseOnExecAndCannotBeStacked) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(kSetupFailed);
    const int listener = AnalysisOrDie()->InstallInChild();
    if (listener < 0) _exit(kSetupFailed);
    // The workload must never hold the listener (it could answer its own refusals), so the
    // descriptor must not survive execve.
    if ((fcntl(listener, F_GETFD) & FD_CLOEXEC) == 0) _exit(1);
    // Nor can it install a listener of its own under ours.
    sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    sock_fprog prog{1, &allow};
    errno = 0;
    const long second =
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
    _exit(second < 0 && errno == EBUSY ? 0 : 2);
  }
  ASSERT_GT(pid, 0);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace kura::sandbox
