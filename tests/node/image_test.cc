// The workspace image: what a sandbox sees of the node's software, named and hashed, so that a
// release can say which packages, kura tools and Python module its results were made with.

#include "node/image.h"

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "common/crypto.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/common/status_matchers.h"
#include "tests/node/node_test_env.h"

namespace kura::node {
namespace {

using ::kura::node::testing::WriteFile;
using ::kura::testing::IsOk;
using ::kura::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::StartsWith;

constexpr char kOsRelease[] =
    "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n"
    "NAME=\"Debian GNU/Linux\"\n"
    "VERSION_ID=\"12\"\n"
    "ID=debian\n";
constexpr char kDpkgStatus[] =
    "Package: python3\nStatus: install ok installed\nVersion: 3.11.2-1+b1\n\n"
    "Package: r-base-core\nStatus: install ok installed\nVersion: 4.2.2.20221110-2\n";
constexpr char kInit[] = "\177ELF kura-workspace-init";
constexpr char kInitPy[] = "from kura.tables import *\n";
constexpr char kTablesPy[] = "def count(frame, by):\n    return frame.groupby(by).size()\n";

// A node's root filesystem in a temporary directory, and kura's parts beside it.
class ImageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kura-image-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    root_ = dir_ + "/root";
    std::filesystem::create_directories(root_ + "/etc");
    std::filesystem::create_directories(root_ + "/var/lib/dpkg");
    std::filesystem::create_directories(dir_ + "/python/kura/__pycache__");
    WriteFile(root_ + "/etc/os-release", kOsRelease);
    WriteFile(root_ + "/var/lib/dpkg/status", kDpkgStatus);
    WriteFile(dir_ + "/kura-workspace-init", kInit);
    WriteFile(dir_ + "/python/kura/__init__.py", kInitPy);
    WriteFile(dir_ + "/python/kura/tables.py", kTablesPy);
    WriteFile(dir_ + "/python/kura/__pycache__/tables.cpython-311.pyc", "bytecode");
    kura_.init_binary = dir_ + "/kura-workspace-init";
    kura_.python_dir = dir_ + "/python";
    kura_.node_version = "0.1.0";
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  absl::StatusOr<v1::WorkspaceImage> Image() { return HostWorkspaceImage(root_, kura_); }

  static std::vector<std::string> Components(const v1::WorkspaceImage& image) {
    return {image.components().begin(), image.components().end()};
  }

  std::string dir_, root_;
  KuraSoftware kura_;
};

TEST_F(ImageTest, NamesTheHostAndHashesEachPartInOrder) {
  auto image = Image();
  ASSERT_THAT(image.status(), IsOk());
  EXPECT_EQ(image->name(), "host:Debian GNU/Linux 12 (bookworm)");
  // The module's files by relative path; the bytecode cache is not part of it.
  const std::string python = Sha256Hex("kura/__init__.py " + Sha256Hex(kInitPy) + "\n" +
                                       "kura/tables.py " + Sha256Hex(kTablesPy) + "\n");
  const std::vector<std::string> expected = {
      "dpkg-status " + Sha256Hex(kDpkgStatus),
      "kura-node " + Sha256Hex("0.1.0"),
      "kura-python " + python,
      "kura-workspace-init " + Sha256Hex(kInit),
      "os-release " + Sha256Hex(kOsRelease),
  };
  EXPECT_THAT(Components(*image), ElementsAreArray(expected));
  EXPECT_EQ(image->digest(),
            "sha256:" + Sha256Hex(expected[0] + "\n" + expected[1] + "\n" + expected[2] + "\n" +
                                  expected[3] + "\n" + expected[4]));
}

TEST_F(ImageTest, EveryPartChangesTheDigest) {
  auto before = Image();
  ASSERT_THAT(before.status(), IsOk());
  // A bytecode cache written on the host is no change to the module.
  WriteFile(dir_ + "/python/kura/__pycache__/tables.cpython-311.pyc", "other bytecode");
  auto same = Image();
  ASSERT_THAT(same.status(), IsOk());
  EXPECT_EQ(same->digest(), before->digest());

  struct Case {
    std::string what;
    std::string path;
    std::string contents;
  } cases[] = {
      {"an upgraded package", root_ + "/var/lib/dpkg/status",
       std::string(kDpkgStatus) + "\nPackage: python3-numpy\nVersion: 1:1.24.2-1\n"},
      {"a new release of the distribution", root_ + "/etc/os-release",
       "PRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\n"},
      {"another init", dir_ + "/kura-workspace-init", "\177ELF patched"},
      {"an edited module file", dir_ + "/python/kura/tables.py", "def count(): pass\n"},
      {"a new module file", dir_ + "/python/kura/sub/extra.py", "x = 1\n"},
  };
  std::string last = before->digest();
  for (const Case& c : cases) {
    std::filesystem::create_directories(std::filesystem::path(c.path).parent_path());
    WriteFile(c.path, c.contents);
    auto image = Image();
    ASSERT_THAT(image.status(), IsOk()) << c.what;
    EXPECT_NE(image->digest(), last) << c.what;
    last = image->digest();
  }
  kura_.node_version = "0.2.0";
  auto upgraded = Image();
  ASSERT_THAT(upgraded.status(), IsOk());
  EXPECT_NE(upgraded->digest(), last);
}

TEST_F(ImageTest, AHostWithoutDpkgHasNoPackageComponent) {
  std::filesystem::remove(root_ + "/var/lib/dpkg/status");
  auto image = Image();
  ASSERT_THAT(image.status(), IsOk());
  EXPECT_EQ(image->name(), "host:Debian GNU/Linux 12 (bookworm)");
  ASSERT_EQ(image->components_size(), 4);
  for (const std::string& c : image->components()) EXPECT_THAT(c, Not(StartsWith("dpkg-status")));
  EXPECT_EQ(image->digest(), "sha256:" + Sha256Hex(absl::StrJoin(Components(*image), "\n")));
}

TEST_F(ImageTest, AHostWithoutOsReleaseIsJustHost) {
  std::filesystem::remove(root_ + "/etc/os-release");
  kura_ = {};
  auto image = Image();
  ASSERT_THAT(image.status(), IsOk());
  EXPECT_EQ(image->name(), "host");
  EXPECT_THAT(Components(*image), ElementsAre("dpkg-status " + Sha256Hex(kDpkgStatus)));
  EXPECT_EQ(image->digest(), "sha256:" + Sha256Hex("dpkg-status " + Sha256Hex(kDpkgStatus)));

  std::filesystem::remove(root_ + "/var/lib/dpkg/status");
  auto bare = Image();
  ASSERT_THAT(bare.status(), IsOk());
  EXPECT_EQ(bare->name(), "host");
  EXPECT_THAT(Components(*bare), IsEmpty());
  EXPECT_EQ(bare->digest(), "sha256:" + Sha256Hex(""));
}

// os-release(5): /etc/os-release, else /usr/lib/os-release; often the first is an absolute
// symlink to the second, which must resolve inside the root, not on the machine running this.
TEST_F(ImageTest, ReadsOsReleaseWhereDistributionsPutIt) {
  const std::string usr_lib = "PRETTY_NAME='Ubuntu 24.04 LTS'\n";
  std::filesystem::create_directories(root_ + "/usr/lib");
  WriteFile(root_ + "/usr/lib/os-release", usr_lib);
  std::filesystem::remove(root_ + "/etc/os-release");
  ASSERT_EQ(::symlink("/usr/lib/os-release", (root_ + "/etc/os-release").c_str()), 0);
  auto linked = Image();
  ASSERT_THAT(linked.status(), IsOk());
  EXPECT_EQ(linked->name(), "host:Ubuntu 24.04 LTS");
  EXPECT_THAT(Components(*linked), ::testing::Contains("os-release " + Sha256Hex(usr_lib)));

  std::filesystem::remove(root_ + "/etc/os-release");
  auto fallback = Image();
  ASSERT_THAT(fallback.status(), IsOk());
  EXPECT_EQ(fallback->name(), "host:Ubuntu 24.04 LTS");
}

TEST_F(ImageTest, PrettyNameQuoting) {
  struct Case {
    std::string os_release;
    std::string name;
  } cases[] = {
      {"PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n", "host:Debian GNU/Linux 12 (bookworm)"},
      {"PRETTY_NAME='Fedora Linux 40'\n", "host:Fedora Linux 40"},
      {"PRETTY_NAME=Alpine\n", "host:Alpine"},
      {"PRETTY_NAME=\"A \\\"quoted\\\" name\"\n", "host:A \"quoted\" name"},
      {"NAME=\"Debian GNU/Linux\"\nID=debian\n", "host"},
      {"# PRETTY_NAME=\"commented out\"\nPRETTY_NAME=\"Real\"\n", "host:Real"},
      {"PRETTY_NAME=\"\"\n", "host"},
  };
  for (const Case& c : cases) {
    WriteFile(root_ + "/etc/os-release", c.os_release);
    auto image = Image();
    ASSERT_THAT(image.status(), IsOk()) << c.os_release;
    EXPECT_EQ(image->name(), c.name) << c.os_release;
  }
}

TEST_F(ImageTest, AKuraPartThatIsSetMustBeThere) {
  kura_.init_binary = dir_ + "/missing-init";
  EXPECT_THAT(Image().status(), StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing-init")));
  kura_.init_binary.clear();
  kura_.python_dir = dir_ + "/no-python";
  EXPECT_THAT(Image().status(), StatusIs(absl::StatusCode::kNotFound, HasSubstr("no-python")));
  EXPECT_THAT(HostWorkspaceImage(dir_ + "/no-root", {}).status(),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST(MakeWorkspaceImageTest, SortsAndDigestsTheComponents) {
  v1::WorkspaceImage image = MakeWorkspaceImage("host:x", {"b 2", "c 3", "a 1"});
  EXPECT_EQ(image.name(), "host:x");
  EXPECT_THAT(image.components(), ElementsAre("a 1", "b 2", "c 3"));
  EXPECT_EQ(image.digest(), "sha256:" + Sha256Hex("a 1\nb 2\nc 3"));
}

}  // namespace
}  // namespace kura::node
