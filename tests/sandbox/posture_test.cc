// The sandbox's security posture as seen from inside: a probe reports identity, capabilities,
// namespaces, the mount table, processes, interfaces, limits and descriptors, and the test
// compares every item with what full isolation must give.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sandbox/host_rootfs.h"
#include "sandbox/sandbox.h"
#include "tests/common/status_matchers.h"
#include "tests/sandbox/sandbox_testing.h"

namespace kura::sandbox {
namespace {

using ::kura::testing::IsOk;
using ::testing::ElementsAreArray;
using ::testing::Not;
using namespace ::kura::sandbox::testing;

constexpr uint64_t kMemory = 256ull << 20;
constexpr uint32_t kPids = 64;

v1::SandboxSpec PostureSpec() {
  v1::SandboxSpec spec = HostSpec({absl::StrCat(kProgramsMount, "/kura_probe"), "--hold"});
  spec.set_hostname("posture");
  spec.add_env("ONLY=this");
  v1::Mount* scratch = spec.add_mounts();
  scratch->set_kind(v1::Mount::TMPFS);
  scratch->set_target("/scratch");
  scratch->set_size_bytes(1 << 20);
  spec.mutable_limits()->set_memory_bytes(kMemory);
  spec.mutable_limits()->set_pids(kPids);
  spec.mutable_limits()->set_cpus(0.5);
  spec.mutable_limits()->set_nofile(256);
  spec.mutable_limits()->set_file_size_bytes(1 << 20);
  return spec;
}

// What one mount must look like: its place, its type (empty: the host's) and its flags.
struct ExpectedMount {
  std::string point;
  std::string fstype;
  std::string flags;  // "ro"/"rw" then nosuid, nodev, noexec as they must be (in that order)
};

std::string FlagsOf(const std::string& options) {
  std::set<std::string> set = absl::StrSplit(options, ',');
  std::string flags = set.count("ro") ? "ro" : "rw";
  for (const char* flag : {"nosuid", "nodev", "noexec"}) {
    if (set.count(flag)) absl::StrAppend(&flags, ",", flag);
  }
  return flags;
}

std::vector<ExpectedMount> ExpectedMounts() {
  std::vector<ExpectedMount> mounts = {{"/", "tmpfs", "ro,nosuid,nodev"}};
  auto host_entry = [&](const std::string& path) {
    struct stat st;
    if (lstat(path.c_str(), &st) == 0 && (S_ISDIR(st.st_mode) || S_ISREG(st.st_mode))) {
      mounts.push_back({path, "", "ro,nosuid,nodev"});
    }
  };
  for (const char* dir : {"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"}) {
    host_entry(dir);
  }
  for (const std::string& entry : HostRootfsEtcEntries()) host_entry("/etc/" + entry);
  mounts.push_back({"/proc", "proc", "rw,nosuid,nodev,noexec"});
  for (const char* node : {"null", "zero", "full", "random", "urandom", "tty"}) {
    mounts.push_back({absl::StrCat("/dev/", node), "devtmpfs", "rw,nosuid,noexec"});
  }
  mounts.push_back({"/dev/pts", "devpts", "rw,nosuid,noexec"});
  mounts.push_back({"/dev/shm", "tmpfs", "rw,nosuid,nodev,noexec"});
  mounts.push_back({kProgramsMount, "", "ro,nosuid,nodev"});
  mounts.push_back({"/scratch", "tmpfs", "rw,nosuid,nodev"});
  return mounts;
}

std::string HostNamespace(const char* ns) {
  char link[256] = {};
  readlink(absl::StrCat("/proc/self/ns/", ns).c_str(), link, sizeof(link) - 1);
  return link;
}

std::string ReadFirstLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// The sandbox's limits, read on the host from the cgroup that holds its init.
void ExpectCgroupLimits(pid_t init) {
  std::ifstream in(absl::StrCat("/proc/", init, "/cgroup"));
  std::map<std::string, std::string> paths;
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> f = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (f.size() == 3) {
      for (absl::string_view c : absl::StrSplit(f[1], ',')) paths[std::string(c)] = f[2];
    }
  }
  if (paths.count("memory")) {  // cgroup v1
    std::string memory = "/sys/fs/cgroup/memory" + paths["memory"];
    EXPECT_EQ(ReadFirstLine(memory + "/memory.limit_in_bytes"), absl::StrCat(kMemory));
    EXPECT_EQ(ReadFirstLine(memory + "/memory.memsw.limit_in_bytes"), absl::StrCat(kMemory));
    // +1: on v1 the launcher thread the init was cloned from sits parked in the cgroup.
    EXPECT_EQ(ReadFirstLine("/sys/fs/cgroup/pids" + paths["pids"] + "/pids.max"),
              absl::StrCat(kPids + 1));
    EXPECT_EQ(ReadFirstLine("/sys/fs/cgroup/cpu" + paths["cpu"] + "/cpu.cfs_quota_us"), "50000");
  } else {  // cgroup v2
    std::string dir = "/sys/fs/cgroup" + paths[""];
    EXPECT_EQ(ReadFirstLine(dir + "/memory.max"), absl::StrCat(kMemory));
    EXPECT_EQ(ReadFirstLine(dir + "/memory.swap.max"), "0");
    EXPECT_EQ(ReadFirstLine(dir + "/pids.max"), absl::StrCat(kPids));
    EXPECT_EQ(ReadFirstLine(dir + "/cpu.max"), "50000 100000");
  }
}

TEST(PostureTest, ProbeSeesExactlyTheIsolationOfTheSpec) {
  KURA_REQUIRE_ROOT();
  int in[2], out[2];
  ASSERT_EQ(pipe2(in, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  UniqueFd in_read(in[0]), in_write(in[1]), out_read(out[0]), out_write(out[1]);
  // A secret the launcher holds without O_CLOEXEC, and one in its environment.
  UniqueFd secret(open("/proc/self/status", O_RDONLY));
  setenv("KURA_TEST_SECRET", "launcher-only", 1);
  KURA_ASSERT_OK_AND_ASSIGN(Sandbox sandbox, Launch(PostureSpec(), {in[0], out[1], -1}));
  in_read.Reset();
  out_write.Reset();
  std::string output;
  char buffer[4096];
  while (!absl::StrContains(output, "\nend\n")) {
    ssize_t n = read(out_read.get(), buffer, sizeof(buffer));
    ASSERT_GT(n, 0) << "probe output ended early:\n" << output;
    output.append(buffer, static_cast<size_t>(n));
  }
  ExpectCgroupLimits(sandbox.pid());
  in_write.Reset();  // lets the probe exit
  KURA_ASSERT_OK_AND_ASSIGN(v1::SandboxResult result, sandbox.Wait());
  EXPECT_EQ(result.reason(), v1::SandboxResult::EXITED);
  EXPECT_EQ(result.exit_code(), 0);

  std::map<std::string, std::string> probe;
  std::vector<ExpectedMount> mounts;
  for (const auto& [key, value] : ParseProbe(output)) {
    if (key == "mount") {
      std::vector<std::string> f = absl::StrSplit(value, ' ');
      ASSERT_EQ(f.size(), 3u) << value;
      mounts.push_back({f[0], f[1], FlagsOf(f[2])});
    } else {
      probe[key] = value;
    }
  }
  EXPECT_EQ(probe["uid_map"], "1000 101000 1");
  EXPECT_EQ(probe["gid_map"], "1000 101000 1");
  EXPECT_EQ(probe["status.Uid"], "1000 1000 1000 1000");
  EXPECT_EQ(probe["status.Gid"], "1000 1000 1000 1000");
  EXPECT_EQ(probe["status.Groups"], "");
  for (const char* set : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
    EXPECT_EQ(probe[absl::StrCat("status.", set)], "0000000000000000") << set;
  }
  EXPECT_EQ(probe["status.NoNewPrivs"], "1");
  // NOROOT, NO_SETUID_FIXUP and NO_CAP_AMBIENT_RAISE, each with its lock, and KEEP_CAPS locked
  // off: 0b11101111.
  EXPECT_EQ(probe["securebits"], "239");
  // Init is not dumpable: the workload (same uid) cannot read its memory or environment.
  EXPECT_EQ(probe["init_dumpable"], "refused");
  EXPECT_EQ(probe["status.Seccomp"], "2");
  for (const char* ns : {"user", "mnt", "pid", "net", "ipc", "uts", "cgroup"}) {
    std::string inside = probe[absl::StrCat("ns.", ns)];
    EXPECT_TRUE(absl::StartsWith(inside, absl::StrCat(ns, ":["))) << ns << " " << inside;
    EXPECT_NE(inside, HostNamespace(ns)) << ns << " namespace is shared with the host";
  }
  EXPECT_EQ(probe["pids"], "1,2") << "the sandbox sees more than its init and the probe";
  EXPECT_EQ(probe["self_pid"], "2");
  EXPECT_EQ(probe["interfaces"], "lo:up");
  EXPECT_EQ(probe["rlimit.nofile"], "256/256");
  EXPECT_EQ(probe["rlimit.core"], "0/0");
  EXPECT_EQ(probe["rlimit.fsize"], "1048576/1048576");
  EXPECT_EQ(probe["fds"], "0,1,2") << "a descriptor of the launcher leaked in";
  EXPECT_EQ(probe["env_count"], "1") << "the launcher's environment leaked in";
  EXPECT_EQ(probe["hostname"], "posture");
  for (absl::string_view line : absl::StrSplit(probe["cgroup"], ';')) {
    EXPECT_TRUE(absl::EndsWith(line, ":/")) << "cgroup namespace not rooted: " << line;
  }

  // mountinfo lists mounts in creation order, which is the launcher's business: compare by place.
  std::vector<ExpectedMount> expected = ExpectedMounts();
  auto by_point = [](const ExpectedMount& a, const ExpectedMount& b) { return a.point < b.point; };
  std::sort(mounts.begin(), mounts.end(), by_point);
  std::sort(expected.begin(), expected.end(), by_point);
  ASSERT_EQ(mounts.size(), expected.size()) << output;
  for (size_t i = 0; i < mounts.size(); ++i) {
    EXPECT_EQ(mounts[i].point, expected[i].point) << "mount #" << i;
    if (!expected[i].fstype.empty()) {
      EXPECT_EQ(mounts[i].fstype, expected[i].fstype) << mounts[i].point;
    }
    EXPECT_EQ(mounts[i].flags, expected[i].flags) << mounts[i].point;
  }
}

TEST(PostureTest, UidBeyondTheSandboxRangeIsRefused) {
  v1::SandboxSpec spec = HostSpec({"/bin/true"});
  spec.set_uid(70000);
  EXPECT_THAT(Launch(spec), Not(IsOk()));
}

}  // namespace
}  // namespace kura::sandbox
