// What a researcher relies on: Python reads read-only data and writes results, exit codes and
// signals come back, the handle signals and kills, setup failures name their step, and symlinks
// cannot redirect a mount.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sandbox/sandbox.h"
#include "tests/common/status_matchers.h"
#include "tests/sandbox/sandbox_testing.h"

namespace kura::sandbox {
namespace {

using ::kura::testing::StatusIs;
using ::testing::HasSubstr;
using namespace ::kura::sandbox::testing;

// A fresh directory under /tmp, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/kura-sandbox-test-XXXXXX";
    path_ = mkdtemp(name);
    chmod(path_.c_str(), 0755);
  }
  ~TempDir() { std::system(absl::StrCat("rm -rf '", path_, "'").c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& contents) {
  std::ofstream(path) << contents;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

TEST(FunctionalTest, PythonReadsReadOnlyDataAndWritesItsOutput) {
  KURA_REQUIRE_ROOT();
  TempDir data, outputs;
  WriteFile(data.path() + "/visits.csv", "patient,visits\na,3\nb,4\nc,5\n");
  // World-writable on the host: only the read-only mount stands between the workload and it.
  ASSERT_EQ(chmod((data.path() + "/visits.csv").c_str(), 0666), 0);
  // The sandbox user (host id 101000) must be able to write its outputs.
  ASSERT_EQ(chown(outputs.path().c_str(), 101000, 101000), 0);
  v1::SandboxSpec spec = HostSpec({"python3", "-c", R"(
import csv, errno
rows = list(csv.DictReader(open('/data/visits.csv')))
total = sum(int(r['visits']) for r in rows)
open('/outputs/total.txt', 'w').write(f'{total}\n')
try:
    open('/data/visits.csv', 'a').write('d,1\n')
    print('data writable')
except OSError as e:
    print('data write refused:', errno.errorcode[e.errno])
)"});
  AddBind(&spec, data.path(), "/data", /*read_only=*/true);
  AddBind(&spec, outputs.path(), "/outputs", /*read_only=*/false);
  KURA_ASSERT_OK_AND_ASSIGN(Captured run, RunCaptured(spec));
  EXPECT_EQ(run.result.reason(), v1::SandboxResult::EXITED) << run.err;
  EXPECT_EQ(run.result.exit_code(), 0) << run.err;
  EXPECT_EQ(run.out, "data write refused: EROFS\n");
  EXPECT_EQ(ReadFile(outputs.path() + "/total.txt"), "12\n");
  EXPECT_EQ(ReadFile(data.path() + "/visits.csv"), "patient,visits\na,3\nb,4\nc,5\n");
}

TEST(FunctionalTest, ExitCodesAndSignalsComeBack) {
  KURA_REQUIRE_ROOT();
  struct Case {
    const char* script;
    v1::SandboxResult::Reason reason;
    int code;
    int signal;
  };
  for (const Case& c : {Case{"exit 0", v1::SandboxResult::EXITED, 0, 0},
                        Case{"exit 42", v1::SandboxResult::EXITED, 42, 0},
                        Case{"kill -SEGV $$", v1::SandboxResult::SIGNALED, 0, SIGSEGV},
                        Case{"kill -KILL $$", v1::SandboxResult::SIGNALED, 0, SIGKILL}}) {
    KURA_ASSERT_OK_AND_ASSIGN(Captured run, RunCaptured(HostSpec({"/bin/sh", "-c", c.script})));
    EXPECT_EQ(run.result.reason(), c.reason) << c.script;
    EXPECT_EQ(run.result.exit_code(), c.code) << c.script;
    EXPECT_EQ(run.result.signal(), c.signal) << c.script;
  }
}

TEST(FunctionalTest, SignalIsForwardedToTheWorkloadAndKillEndsEverything) {
  KURA_REQUIRE_ROOT();
  KURA_ASSERT_OK_AND_ASSIGN(Sandbox term, Launch(HostSpec({"/bin/sleep", "1000"})));
  ASSERT_THAT(term.Signal(SIGTERM), kura::testing::IsOk());
  KURA_ASSERT_OK_AND_ASSIGN(v1::SandboxResult termed, term.Wait());
  EXPECT_EQ(termed.reason(), v1::SandboxResult::SIGNALED);
  EXPECT_EQ(termed.signal(), SIGTERM);

  KURA_ASSERT_OK_AND_ASSIGN(Sandbox killed, Launch(HostSpec({"/bin/sleep", "1000"})));
  ASSERT_THAT(killed.Kill(), kura::testing::IsOk());
  KURA_ASSERT_OK_AND_ASSIGN(v1::SandboxResult result, killed.Wait());
  EXPECT_EQ(result.reason(), v1::SandboxResult::KILLED);
}

TEST(FunctionalTest, SetupFailureNamesTheStepAndErrno) {
  KURA_REQUIRE_ROOT();
  KURA_ASSERT_OK_AND_ASSIGN(Captured missing, RunCaptured(HostSpec({"/no/such/program"})));
  EXPECT_EQ(missing.result.reason(), v1::SandboxResult::SETUP_FAILED);
  EXPECT_EQ(missing.result.failed_step(), "execve");
  EXPECT_EQ(missing.result.setup_errno(), ENOENT);

  v1::SandboxSpec bad_cwd = HostSpec({"/bin/true"});
  bad_cwd.set_cwd("/no/such/dir");
  KURA_ASSERT_OK_AND_ASSIGN(Captured chdir, RunCaptured(bad_cwd));
  EXPECT_EQ(chdir.result.reason(), v1::SandboxResult::SETUP_FAILED);
  EXPECT_EQ(chdir.result.failed_step(), "chdir");
  EXPECT_EQ(chdir.result.setup_errno(), ENOENT);
}

TEST(FunctionalTest, PathIsSearchedInTheSandboxEnvironment) {
  KURA_REQUIRE_ROOT();
  v1::SandboxSpec spec = HostSpec({"kura_probe"});
  spec.add_env(absl::StrCat("PATH=/nowhere:", kProgramsMount));
  KURA_ASSERT_OK_AND_ASSIGN(Captured run, RunCaptured(spec));
  EXPECT_EQ(run.result.reason(), v1::SandboxResult::EXITED) << run.err;
  EXPECT_THAT(run.out, HasSubstr("env_count=1\n"));
}

TEST(FunctionalTest, SymlinksCannotRedirectMounts) {
  KURA_REQUIRE_ROOT();
  TempDir dir;
  ASSERT_EQ(symlink("/etc", (dir.path() + "/escape").c_str()), 0);
  // A bind source through a symlink is refused before anything starts.
  v1::SandboxSpec through_source = HostSpec({"/bin/true"});
  AddBind(&through_source, dir.path() + "/escape", "/data", true);
  EXPECT_THAT(Launch(through_source),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("symlink")));

  // A target under a symlink of the new root (/bin -> usr/bin with merged /usr, or a symlink
  // the spec made) fails the mount step instead of following it.
  v1::SandboxSpec through_target = HostSpec({"/bin/true"});
  v1::Mount* link = through_target.add_mounts();
  link->set_kind(v1::Mount::SYMLINK);
  link->set_source("/etc");
  link->set_target("/redirect");
  AddBind(&through_target, dir.path(), "/redirect/data", true);
  KURA_ASSERT_OK_AND_ASSIGN(Captured run, RunCaptured(through_target));
  EXPECT_EQ(run.result.reason(), v1::SandboxResult::SETUP_FAILED);
  EXPECT_EQ(run.result.failed_step(), "mount_bind /redirect/data");
  EXPECT_EQ(run.result.setup_errno(), ELOOP);
}

TEST(FunctionalTest, HostRootfsHasNoSecretsOfTheHost) {
  KURA_REQUIRE_ROOT();
  KURA_ASSERT_OK_AND_ASSIGN(
      Captured run,
      RunCaptured(HostSpec({"/bin/sh", "-c",
                            "for p in /etc/shadow /etc/gshadow /etc/sudoers /root /home "
                            "/etc/ssh /etc/machine-id /var /tmp; do "
                            "[ -e $p ] && echo present $p; done; id -un; echo done"})));
  EXPECT_EQ(run.out, "sandbox\ndone\n") << run.err;
}

TEST(FunctionalTest, RootfsIsTheReadOnlyRoot) {
  KURA_REQUIRE_ROOT();
  TempDir root;
  for (const char* dir : {"/proc", "/dev", "/usr", "/etc"}) {
    ASSERT_EQ(mkdir((root.path() + dir).c_str(), 0755), 0);
  }
  for (const char* link : {"lib", "lib64", "bin"}) {
    ASSERT_EQ(symlink(absl::StrCat("usr/", link).c_str(), (root.path() + "/" + link).c_str()), 0);
  }
  WriteFile(root.path() + "/etc/marker", "from the rootfs\n");
  v1::SandboxSpec spec;
  spec.set_rootfs(root.path());
  AddBind(&spec, "/usr", "/usr", true);
  for (const char* arg :
       {"/bin/sh", "-c", "cat /etc/marker; touch /etc/new 2>&1 | grep -c 'Read-only'"}) {
    spec.add_argv(arg);
  }
  KURA_ASSERT_OK_AND_ASSIGN(Captured run, RunCaptured(spec));
  EXPECT_EQ(run.result.reason(), v1::SandboxResult::EXITED) << run.err;
  EXPECT_EQ(run.out, "from the rootfs\n1\n") << run.err;
  struct stat st;
  EXPECT_NE(stat((root.path() + "/etc/new").c_str(), &st), 0);
}

TEST(FunctionalTest, RefusedSyscallsAreCountedByTheLauncher) {
  KURA_REQUIRE_ROOT();
  v1::SandboxSpec spec = HostSpec({"python3", "-c", R"(
import errno, socket
for family in (socket.AF_INET, socket.AF_INET6, socket.AF_NETLINK):
    try:
        socket.socket(family, socket.SOCK_DGRAM)
    except OSError as e:
        print(errno.errorcode[e.errno])
)"});
  KURA_ASSERT_OK_AND_ASSIGN(Captured run, RunCaptured(spec));
  EXPECT_EQ(run.result.reason(), v1::SandboxResult::EXITED) << run.err;
  EXPECT_EQ(run.out, "EPERM\nEPERM\nEPERM\n");
  EXPECT_GE(run.result.seccomp_denials(), 3u);

  spec.set_seccomp_profile("none");
  KURA_ASSERT_OK_AND_ASSIGN(Captured unfiltered, RunCaptured(spec));
  EXPECT_EQ(unfiltered.result.seccomp_denials(), 0u);
}

}  // namespace
}  // namespace kura::sandbox
