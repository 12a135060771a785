// The launcher's side of the mount tree: untrusted paths are checked before anything is cloned,
// and the plan holds exactly the mounts the spec asks for.
#include <sys/mount.h>
#include <unistd.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sandbox/host_rootfs.h"
#include "sandbox/mounts.h"
#include "tests/common/status_matchers.h"

namespace kura::sandbox {
namespace {

using ::kura::testing::IsOk;
using ::kura::testing::StatusIs;
using ::testing::HasSubstr;

TEST(SandboxRelativePathTest, NormalizesAbsolutePathsAndRefusesEscapes) {
  struct Case {
    const char* path;
    const char* relative;  // nullptr: refused
  };
  for (const Case& c :
       {Case{"/data", "data"}, Case{"/data/", "data"}, Case{"//a///b", "a/b"},
        Case{"/a/b/c", "a/b/c"}, Case{"/", nullptr}, Case{"", nullptr}, Case{"data", nullptr},
        Case{"/a/../etc", nullptr}, Case{"/a/./b", nullptr}, Case{"/..", nullptr}}) {
    absl::StatusOr<std::string> relative = SandboxRelativePath(c.path);
    if (c.relative == nullptr) {
      EXPECT_THAT(relative, StatusIs(absl::StatusCode::kInvalidArgument)) << c.path;
    } else {
      ASSERT_THAT(relative, IsOk()) << c.path;
      EXPECT_EQ(*relative, c.relative);
    }
  }
}

v1::SandboxSpec SpecWithBind(const std::string& source, const std::string& target) {
  v1::SandboxSpec spec;
  v1::Mount* mount = spec.add_mounts();
  mount->set_kind(v1::Mount::BIND);
  mount->set_source(source);
  mount->set_target(target);
  mount->set_read_only(true);
  return spec;
}

TEST(BuildMountPlanTest, RefusesBadSources) {
  char dir[] = "/tmp/kura-plan-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string link = absl::StrCat(dir, "/link");
  ASSERT_EQ(symlink("/etc", link.c_str()), 0);
  EXPECT_THAT(BuildMountPlan(SpecWithBind("relative/dir", "/data"), 1000, 1000),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("absolute")));
  EXPECT_THAT(BuildMountPlan(SpecWithBind(link, "/data"), 1000, 1000),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("symlink")));
  EXPECT_THAT(BuildMountPlan(SpecWithBind(absl::StrCat(dir, "/missing"), "/data"), 1000, 1000),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(BuildMountPlan(SpecWithBind(dir, "/data/../etc"), 1000, 1000),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BuildMountPlan(SpecWithBind(dir, "/"), 1000, 1000),
              StatusIs(absl::StatusCode::kInvalidArgument));
  v1::SandboxSpec device;
  device.add_devices(dir);
  EXPECT_THAT(BuildMountPlan(device, 1000, 1000),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not a device")));
  unlink(link.c_str());
  rmdir(dir);
}

TEST(BuildMountPlanTest, BindsCarryTheirFlagsAndTmpfsItsSize) {
  v1::SandboxSpec spec = SpecWithBind("/usr", "/opt/usr");
  v1::Mount* out = spec.add_mounts();
  out->set_kind(v1::Mount::BIND);
  out->set_source("/tmp");
  out->set_target("/outputs");
  out->set_size_bytes(8 << 20);
  // A cap that cannot be enforced on a host directory is refused, never silently dropped.
  EXPECT_THAT(BuildMountPlan(spec, 1000, 1000),
              StatusIs(absl::StatusCode::kUnimplemented, HasSubstr("/outputs")));
  out->clear_size_bytes();
  KURA_ASSERT_OK_AND_ASSIGN(MountPlan without_cap, BuildMountPlan(spec, 1000, 1000));
  v1::Mount* scratch = spec.add_mounts();
  scratch->set_kind(v1::Mount::TMPFS);
  scratch->set_target("/scratch");
  scratch->set_size_bytes(8 << 20);
  KURA_ASSERT_OK_AND_ASSIGN(MountPlan plan, BuildMountPlan(spec, 1000, 1000));
  EXPECT_EQ(plan.cloned_trees.size(), plan.ops.size());
  const MountOp* usr = nullptr;
  const MountOp* outputs = nullptr;
  const MountOp* tmpfs = nullptr;
  const MountOp* shm = nullptr;
  for (const MountOp& op : plan.ops) {
    if (op.target == "opt/usr") usr = &op;
    if (op.target == "outputs") outputs = &op;
    if (op.target == "scratch") tmpfs = &op;
    if (op.target == "dev/shm") shm = &op;
  }
  ASSERT_NE(usr, nullptr);
  ASSERT_NE(outputs, nullptr);
  ASSERT_NE(tmpfs, nullptr);
  ASSERT_NE(shm, nullptr);
  EXPECT_EQ(usr->attributes, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
  EXPECT_EQ(outputs->attributes, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
  EXPECT_THAT(tmpfs->fs_options,
              ::testing::Contains(std::make_pair(std::string("size"), std::string("8388608"))));
  EXPECT_THAT(shm->fs_options,
              ::testing::Contains(std::make_pair(std::string("size"), std::string("67108864"))));
  EXPECT_EQ(without_cap.ops.size(), plan.ops.size() - 1);
}

TEST(BuildMountPlanTest, HostRootfsNeverExposesHostSecrets) {
  v1::SandboxSpec spec;
  spec.set_host_rootfs(true);
  KURA_ASSERT_OK_AND_ASSIGN(MountPlan plan, BuildMountPlan(spec, 1000, 1000));
  for (const MountOp& op : plan.ops) {
    for (const char* secret : {"etc/shadow", "etc/gshadow", "etc/sudoers", "root", "home",
                               "etc/ssh", "etc/ssl/private", "etc/machine-id"}) {
      EXPECT_NE(op.target, secret);
      if (op.kind == MountOp::Kind::kBind) {
        EXPECT_NE(op.source, absl::StrCat("/", secret));
      }
    }
    if (op.target == "etc/passwd") {
      EXPECT_EQ(op.kind, MountOp::Kind::kFile);
      EXPECT_THAT(op.contents, HasSubstr("sandbox:x:1000:1000:"));
    }
  }
}

}  // namespace
}  // namespace kura::sandbox
