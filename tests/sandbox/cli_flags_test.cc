// kura-sandbox's command line: flags into a SandboxSpec, sizes, --spec JSON, exit statuses.
#include "sandbox/cli_flags.h"

#include <map>
#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/status_matchers.h"

namespace kura::sandbox {
namespace {

using ::kura::testing::IsOk;
using ::kura::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

FileReader Files(std::map<std::string, std::string> files) {
  return [files](const std::string& path) -> absl::StatusOr<std::string> {
    auto it = files.find(path);
    if (it == files.end()) return absl::NotFoundError(path);
    return it->second;
  };
}

TEST(ParseSizeTest, AcceptsBinaryMultiples) {
  struct Case {
    const char* text;
    uint64_t bytes;
  };
  for (const Case& c :
       {Case{"0", 0}, Case{"4096", 4096}, Case{"512K", 512ull << 10}, Case{"512M", 512ull << 20},
        Case{"2G", 2ull << 30}, Case{"1T", 1ull << 40}, Case{"2g", 2ull << 30},
        Case{"64MiB", 64ull << 20}, Case{"3KB", 3072}, Case{"7b", 7}}) {
    absl::StatusOr<uint64_t> size = ParseSize(c.text);
    ASSERT_THAT(size, IsOk()) << c.text;
    EXPECT_EQ(*size, c.bytes) << c.text;
  }
}

TEST(ParseSizeTest, RefusesWhatIsNotASize) {
  for (const char* text :
       {"", "M", "-1", "1.5G", "12X", "1 G", "99999999999999999999", "17179869184G"}) {
    EXPECT_THAT(ParseSize(text), StatusIs(absl::StatusCode::kInvalidArgument)) << text;
  }
}

TEST(ParseRunFlagsTest, EveryFlagOfTheIssueLandsInTheSpec) {
  KURA_ASSERT_OK_AND_ASSIGN(
      v1::SandboxSpec spec,
      ParseRunFlags(
          {"--host-rootfs", "--ro-bind", "/srv/data", "/data",       "--bind",      "/srv/out",
           "/outputs",      "--tmpfs",   "/tmp",      "64M",         "--dev",       "/dev/nvidia0",
           "--memory",      "2G",        "--cpus",    "1.5",         "--pids",      "128",
           "--nofile",      "512",       "--disk",    "1G",          "--wall-time", "3600",
           "--uid",         "1234",      "--gid",     "2345",        "--env",       "A=1",
           "--env",         "B=x=y",     "--chdir",   "/outputs",    "--hostname",  "ws1",
           "--tty",         "--seccomp", "none",      "--mount-sys", "--fsize",     "100M",
           "--symlink",     "usr/bin",   "/bin",      "--",          "python3",     "-c",
           "--not-a-flag"},
          Files({})));
  EXPECT_TRUE(spec.host_rootfs());
  ASSERT_EQ(spec.mounts_size(), 4);
  EXPECT_EQ(spec.mounts(0).kind(), v1::Mount::BIND);
  EXPECT_EQ(spec.mounts(0).source(), "/srv/data");
  EXPECT_EQ(spec.mounts(0).target(), "/data");
  EXPECT_TRUE(spec.mounts(0).read_only());
  EXPECT_EQ(spec.mounts(1).target(), "/outputs");
  EXPECT_FALSE(spec.mounts(1).read_only());
  EXPECT_EQ(spec.mounts(2).kind(), v1::Mount::TMPFS);
  EXPECT_EQ(spec.mounts(2).size_bytes(), 64ull << 20);
  EXPECT_EQ(spec.mounts(3).kind(), v1::Mount::SYMLINK);
  EXPECT_EQ(spec.mounts(3).source(), "usr/bin");
  EXPECT_EQ(spec.mounts(3).target(), "/bin");
  EXPECT_THAT(spec.devices(), ElementsAre("/dev/nvidia0"));
  EXPECT_EQ(spec.limits().memory_bytes(), 2ull << 30);
  EXPECT_DOUBLE_EQ(spec.limits().cpus(), 1.5);
  EXPECT_EQ(spec.limits().pids(), 128u);
  EXPECT_EQ(spec.limits().nofile(), 512u);
  EXPECT_EQ(spec.limits().disk_bytes(), 1ull << 30);
  EXPECT_EQ(spec.limits().file_size_bytes(), 100ull << 20);
  EXPECT_EQ(spec.limits().wall_time_seconds(), 3600u);
  EXPECT_EQ(spec.uid(), 1234u);
  EXPECT_EQ(spec.gid(), 2345u);
  EXPECT_THAT(spec.env(), ElementsAre("A=1", "B=x=y"));
  EXPECT_EQ(spec.cwd(), "/outputs");
  EXPECT_EQ(spec.hostname(), "ws1");
  EXPECT_TRUE(spec.tty());
  EXPECT_TRUE(spec.mount_sys());
  EXPECT_EQ(spec.seccomp_profile(), "none");
  EXPECT_THAT(spec.argv(), ElementsAre("python3", "-c", "--not-a-flag"));
}

TEST(ParseRunFlagsTest, CommandMayFollowWithoutDashDash) {
  KURA_ASSERT_OK_AND_ASSIGN(v1::SandboxSpec spec,
                            ParseRunFlags({"--rootfs", "/srv/root", "sh", "--tty"}, Files({})));
  EXPECT_EQ(spec.rootfs(), "/srv/root");
  EXPECT_FALSE(spec.tty());
  EXPECT_THAT(spec.argv(), ElementsAre("sh", "--tty"));
}

TEST(ParseRunFlagsTest, FlagsOverrideAndExtendTheSpecFile) {
  const std::string json = R"({
    "argv": ["python3", "job.py"], "env": ["LANG=C.UTF-8"], "hostRootfs": true,
    "mounts": [{"kind": "BIND", "source": "/srv/d", "target": "/data", "readOnly": true}],
    "limits": {"memoryBytes": "1073741824", "pids": 64}, "hostname": "from-spec"})";
  KURA_ASSERT_OK_AND_ASSIGN(v1::SandboxSpec spec,
                            ParseRunFlags({"--memory", "512M", "--spec", "job.json", "--env", "X=1",
                                           "--hostname", "from-flag"},
                                          Files({{"job.json", json}})));
  EXPECT_TRUE(spec.host_rootfs());
  EXPECT_THAT(spec.argv(), ElementsAre("python3", "job.py"));
  EXPECT_THAT(spec.env(), ElementsAre("LANG=C.UTF-8", "X=1"));
  EXPECT_EQ(spec.limits().memory_bytes(), 512ull << 20);
  EXPECT_EQ(spec.limits().pids(), 64u);
  EXPECT_EQ(spec.mounts_size(), 1);
  EXPECT_EQ(spec.hostname(), "from-flag");
}

TEST(ParseRunFlagsTest, ErrorsNameTheFlagAndValue) {
  struct Case {
    std::vector<std::string> args;
    const char* message;
  };
  for (const Case& c : {
           Case{{"--memory", "lots", "--", "true"}, "--memory lots"},
           Case{{"--pids", "-3", "--", "true"}, "--pids -3"},
           Case{{"--cpus", "0", "--", "true"}, "--cpus 0"},
           Case{{"--env", "NOVALUE", "--", "true"}, "--env NOVALUE"},
           Case{{"--ro-bind", "/a"}, "--ro-bind needs 2 values"},
           Case{{"--frobnicate", "--", "true"}, "unknown flag --frobnicate"},
           Case{{"--tty=yes", "--", "true"}, "--tty takes no value"},
           Case{{"--host-rootfs"}, "no command"},
           Case{{"--spec", "missing.json"}, "missing.json"},
           Case{{"--spec", "bad.json"}, "spec JSON"},
       }) {
    absl::StatusOr<v1::SandboxSpec> spec =
        ParseRunFlags(c.args, Files({{"bad.json", R"({"argv": 3})"}}));
    ASSERT_FALSE(spec.ok()) << c.message;
    EXPECT_THAT(std::string(spec.status().message()), HasSubstr(c.message));
  }
}

TEST(ExitCodeTest, EachReasonHasItsOwnStatus) {
  v1::SandboxResult result;
  result.set_reason(v1::SandboxResult::EXITED);
  result.set_exit_code(42);
  EXPECT_EQ(ExitCodeFor(result), 42);
  EXPECT_EQ(DescribeResult(result), "");
  result.set_reason(v1::SandboxResult::SIGNALED);
  result.set_signal(9);
  EXPECT_EQ(ExitCodeFor(result), 137);
  result.set_reason(v1::SandboxResult::OOM_KILLED);
  EXPECT_EQ(ExitCodeFor(result), kExitOomKilled);
  EXPECT_THAT(DescribeResult(result), HasSubstr("OOM"));
  result.set_reason(v1::SandboxResult::WALL_TIME_EXCEEDED);
  EXPECT_EQ(ExitCodeFor(result), kExitWallTimeExceeded);
  result.set_reason(v1::SandboxResult::SETUP_FAILED);
  result.set_failed_step("mount_bind /data");
  result.set_setup_errno(2);
  EXPECT_EQ(ExitCodeFor(result), kExitSetupFailed);
  EXPECT_EQ(DescribeResult(result),
            "kura-sandbox: setup failed at step mount_bind /data: No such file or directory "
            "(errno 2)");
  EXPECT_EQ(std::set<int>(
                {kExitUsage, kExitOomKilled, kExitWallTimeExceeded, kExitSetupFailed, kExitKilled})
                .size(),
            5u);
}

}  // namespace
}  // namespace kura::sandbox
