// The hostile battery: every escape attempt of programs/kura_hostile runs inside a real
// `kura-sandbox run --host-rootfs` and must report CONTAINED. The test plays the host side: it
// holds a secret file descriptor and environment variable the workload must not see, a host
// file it must not reach, and TCP/UDP listeners on the host's loopback that must stay silent.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/child_process.h"
#include "common/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/status_matchers.h"

extern char** environ;

namespace kura::sandbox {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr char kHostileBin[] = KURA_TEST_PROGRAMS_DIR "/kura_hostile";
constexpr char kSecretEnvName[] = "KURA_HOSTILE_LAUNCHER_SECRET";
constexpr char kSecretText[] = "launcher-secret-3f9a";

struct Attack {
  std::string name;
  std::string arg_kind;
};

void PrintTo(const Attack& a, std::ostream* os) { *os << a.name; }

// What `kura_hostile list` offers: the battery follows the program, so an attempt added there is
// tested here without editing this file.
std::vector<Attack> ListAttacks() {
  std::vector<Attack> attacks;
  FILE* list = popen((std::string(kHostileBin) + " list 2>/dev/null").c_str(), "r");
  if (list == nullptr) return attacks;
  char line[256];
  while (fgets(line, sizeof line, list) != nullptr) {
    std::string s(line);
    if (!s.empty() && s.back() == '\n') s.pop_back();
    const size_t tab = s.find('\t');
    if (tab == std::string::npos) continue;
    attacks.push_back({s.substr(0, tab), s.substr(tab + 1)});
  }
  pclose(list);
  return attacks;
}

std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  ssize_t n;
  lseek(fd, 0, SEEK_SET);
  while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

// A listening socket on the host's 127.0.0.1, on a port the kernel picks.
struct HostListener {
  UniqueFd fd;
  int port = 0;
};

HostListener Listen(int type) {
  HostListener l;
  l.fd = UniqueFd(socket(AF_INET, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (!l.fd || bind(l.fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      (type == SOCK_STREAM && listen(l.fd.get(), 16) != 0) ||
      getsockname(l.fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ADD_FAILURE() << "host listener: " << strerror(errno);
    return l;
  }
  l.port = ntohs(addr.sin_port);
  return l;
}

class HostileTest : public ::testing::TestWithParam<Attack> {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "the sandbox needs root (CI runs as root)";
    std::string dir = "/tmp/kura-hostile-XXXXXX";
    ASSERT_NE(mkdtemp(dir.data()), nullptr) << strerror(errno);
    root_ = dir;
    // The sandbox runs as an unprivileged host uid: it may traverse and read, nothing more.
    fs::permissions(root_, fs::perms(0755));
    fs::create_directories(root_ / "data");
    fs::create_directories(root_ / "outputs");
    fs::create_directories(root_ / "host-only");
    fs::permissions(root_ / "data", fs::perms(0755));
    fs::permissions(root_ / "outputs", fs::perms(0777));
    std::ofstream(root_ / "data" / "cohort.csv") << "person,age\n1,52\n";
    fs::permissions(root_ / "data" / "cohort.csv", fs::perms(0644));
    std::ofstream(root_ / "host-only" / "secret.txt") << kSecretText << "\n";
    fs::permissions(root_ / "host-only" / "secret.txt", fs::perms(0644));
    // A setuid-root copy of the hostile program, on the read-only data mount.
    fs::copy_file(kHostileBin, root_ / "data" / "kura_hostile_suid");
    ASSERT_EQ(chown((root_ / "data" / "kura_hostile_suid").c_str(), 0, 0), 0);
    ASSERT_EQ(chmod((root_ / "data" / "kura_hostile_suid").c_str(), 04755), 0);
  }

  void TearDown() override {
    if (!root_.empty()) {
      std::error_code ignored;
      fs::remove_all(root_, ignored);
    }
  }

  fs::path root_;
};

TEST_P(HostileTest, IsContained) {
  const Attack& attack = GetParam();
  HostListener tcp = Listen(SOCK_STREAM);
  HostListener udp = Listen(SOCK_DGRAM);
  // Held by the launcher's process without close-on-exec: kura-sandbox inherits it, and must
  // not hand it on.
  UniqueFd secret(open((root_ / "host-only" / "secret.txt").c_str(), O_RDONLY));
  ASSERT_TRUE(secret.valid());

  const std::string host_path = (root_ / "host-only" / "secret.txt").string();
  const std::map<std::string, std::string> args = {
      {"none", ""},
      {"tcp_port", std::to_string(tcp.port)},
      {"udp_port", std::to_string(udp.port)},
      {"host_path", host_path},
      {"data_file", "/data/cohort.csv"},
      {"fd", std::to_string(secret.get())},
      {"env", kSecretEnvName},
      {"suid_file", "/data/kura_hostile_suid"},
  };
  ASSERT_EQ(args.count(attack.arg_kind), 1u) << "unknown argument kind " << attack.arg_kind;

  std::vector<std::string> argv = {KURA_SANDBOX_BIN,
                                   "run",
                                   "--host-rootfs",
                                   "--wall-time",
                                   "120",
                                   "--ro-bind",
                                   KURA_TEST_PROGRAMS_DIR,
                                   "/opt/kura-test",
                                   "--ro-bind",
                                   (root_ / "data").string(),
                                   "/data",
                                   "--bind",
                                   (root_ / "outputs").string(),
                                   "/outputs",
                                   "--",
                                   "/opt/kura-test/kura_hostile",
                                   attack.name};
  if (attack.arg_kind != "none") argv.push_back(args.at(attack.arg_kind));

  ChildProcess::Options options;
  for (char** e = environ; *e != nullptr; ++e) options.env.push_back(*e);
  options.env.push_back(std::string(kSecretEnvName) + "=" + kSecretText);
  UniqueFd output(open(root_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  ASSERT_TRUE(output.valid()) << strerror(errno);
  UniqueFd devnull(open("/dev/null", O_RDONLY | O_CLOEXEC));
  options.stdin_fd = devnull.get();
  options.stdout_fd = output.get();
  options.stderr_fd = output.get();

  KURA_ASSERT_OK_AND_ASSIGN(ChildProcess sandbox, ChildProcess::Spawn(argv, options));
  KURA_ASSERT_OK_AND_ASSIGN(ExitStatus status, sandbox.Wait());
  const std::string out = ReadAll(output.get());

  EXPECT_EQ(status.ShellCode(), 0) << out;
  EXPECT_THAT(out, HasSubstr("CONTAINED: ")) << "exit " << status.ToString();
  EXPECT_THAT(out, ::testing::Not(HasSubstr("ESCAPED")));

  // Whatever the workload did, nothing reached the host's loopback. Both sockets are
  // non-blocking: a connection or datagram that arrived is queued by now.
  const int accepted = accept4(tcp.fd.get(), nullptr, nullptr, SOCK_CLOEXEC);
  EXPECT_LT(accepted, 0) << "a TCP connection from the sandbox reached the host";
  if (accepted >= 0) close(accepted);
  char datagram[64];
  EXPECT_LT(recv(udp.fd.get(), datagram, sizeof datagram, MSG_DONTWAIT), 0)
      << "a UDP datagram from the sandbox reached the host";
  // And the read-only data is as the test wrote it.
  std::ifstream data(root_ / "data" / "cohort.csv");
  std::stringstream content;
  content << data.rdbuf();
  EXPECT_EQ(content.str(), "person,age\n1,52\n");
}

INSTANTIATE_TEST_SUITE_P(Battery, HostileTest, ::testing::ValuesIn(ListAttacks()),
                         [](const auto& info) { return info.param.name; });

struct CliRun {
  ExitStatus status;
  std::string output;  // stdout and stderr together
};

// Runs kura-sandbox with `args` (after "run"), stdin from /dev/null.
absl::StatusOr<CliRun> RunCli(const std::vector<std::string>& args) {
  std::vector<std::string> argv = {KURA_SANDBOX_BIN, "run"};
  argv.insert(argv.end(), args.begin(), args.end());
  UniqueFd output(open("/var/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  UniqueFd devnull(open("/dev/null", O_RDONLY | O_CLOEXEC));
  if (!output || !devnull) return absl::InternalError(strerror(errno));
  ChildProcess::Options options;
  options.stdin_fd = devnull.get();
  options.stdout_fd = output.get();
  options.stderr_fd = output.get();
  KURA_ASSIGN_OR_RETURN(ChildProcess sandbox, ChildProcess::Spawn(argv, options));
  KURA_ASSIGN_OR_RETURN(ExitStatus status, sandbox.Wait());
  return CliRun{status, ReadAll(output.get())};
}

TEST(SeccompCliTest, JsonProfileFromFileIsEnforcedAndABadOneRefused) {
  if (geteuid() != 0) GTEST_SKIP() << "the sandbox needs root (CI runs as root)";
  char path[] = "/var/tmp/kura-profile-XXXXXX";
  UniqueFd fd(mkstemp(path));
  ASSERT_TRUE(fd.valid());
  const std::string profile = R"({"name": "no-uname", "default_action": "allow",
      "rules": [{"action": "deny", "syscalls": ["uname"]}]})";
  ASSERT_EQ(write(fd.get(), profile.data(), profile.size()), static_cast<ssize_t>(profile.size()));
  chmod(path, 0644);

  KURA_ASSERT_OK_AND_ASSIGN(CliRun allowed, RunCli({"--host-rootfs", "--", "/bin/uname"}));
  EXPECT_EQ(allowed.status.ShellCode(), 0) << allowed.output;
  KURA_ASSERT_OK_AND_ASSIGN(CliRun denied,
                            RunCli({"--host-rootfs", "--seccomp", path, "--", "/bin/uname"}));
  EXPECT_NE(denied.status.ShellCode(), 0) << denied.output;
  EXPECT_THAT(denied.output, HasSubstr("Operation not permitted"));

  const std::string bad =
      R"({"name": "bad", "rules": [{"action": "allow", "syscalls": ["nope"]}]})";
  ASSERT_EQ(pwrite(fd.get(), bad.data(), bad.size(), 0), static_cast<ssize_t>(bad.size()));
  ASSERT_EQ(ftruncate(fd.get(), static_cast<off_t>(bad.size())), 0);
  KURA_ASSERT_OK_AND_ASSIGN(CliRun refused,
                            RunCli({"--host-rootfs", "--seccomp", path, "--", "/bin/true"}));
  EXPECT_NE(refused.status.ShellCode(), 0);
  EXPECT_THAT(refused.output, HasSubstr("\"nope\""));
  unlink(path);
}

TEST(HostileBatteryTest, CoversTheIssueList) {
  std::vector<std::string> names;
  for (const Attack& a : ListAttacks()) names.push_back(a.name);
  for (const char* required : {"write_readonly_mount",
                               "mount",
                               "umount",
                               "pivot_root",
                               "chroot_escape",
                               "new_mount_api",
                               "userns_unshare",
                               "userns_clone",
                               "ptrace_attach",
                               "proc_root",
                               "dotdot",
                               "symlink",
                               "tcp_host_loopback",
                               "udp_host_loopback",
                               "socket_netlink",
                               "socket_packet",
                               "socket_vsock",
                               "socket_inet",
                               "tiocsti",
                               "tiocsti_high_bits",
                               "tioclinux",
                               "bpf",
                               "perf_event_open",
                               "keyctl",
                               "userfaultfd",
                               "io_uring",
                               "mknod_char_device",
                               "setuid_binary",
                               "secret_fd",
                               "secret_env",
                               "read_shadow",
                               "kernel_module",
                               "kexec",
                               "reboot",
                               "clock_settime",
                               "dev_mem_kmsg_absent",
                               "sys_absent"}) {
    EXPECT_THAT(names, ::testing::Contains(std::string(required)));
  }
}

}  // namespace
}  // namespace kura::sandbox
