// The pure parts of a workspace: names, request defaults and the sandbox it becomes.

#include "node/workspace_spec.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/workspace_layout.h"
#include "tests/common/status_matchers.h"

namespace kura::node {
namespace {

using ::kura::testing::IsOk;
using ::kura::testing::StatusIs;

TEST(WorkspaceNamesTest, OnlyPlainPathComponents) {
  struct Case {
    std::string name;
    bool ok;
  } cases[] = {{"ws-1", true},     {"alice.b_c", true},
               {"", false},        {"..", false},
               {".hidden", false}, {"-rf", false},
               {"a/b", false},     {"a b", false},
               {"ü", false},       {std::string(65, 'a'), false}};
  for (const Case& c : cases) EXPECT_EQ(ValidateName("user", c.name).ok(), c.ok) << c.name;
}

v1::NodeOpenWorkspaceRequest Request() {
  v1::NodeOpenWorkspaceRequest r;
  r.set_workspace_id("ws-1");
  r.set_project("cardio");
  r.set_user("alice");
  r.mutable_resources()->set_cpus(2);
  r.mutable_resources()->set_memory_bytes(4ull << 30);
  v1::MountSchema* s = r.add_schemas();
  s->set_name("claims");
  s->set_host_path("/srv/schemas/claims");
  return r;
}

TEST(WorkspaceRequestTest, DefaultsAndRefusals) {
  auto normalized = NormalizeOpenRequest(Request());
  ASSERT_THAT(normalized.status(), IsOk());
  EXPECT_EQ(normalized->uid(), 1000u);

  v1::NodeOpenWorkspaceRequest relative = Request();
  relative.mutable_schemas(0)->set_host_path("schemas/claims");
  EXPECT_THAT(NormalizeOpenRequest(relative).status(),
              StatusIs(absl::StatusCode::kInvalidArgument));
  v1::NodeOpenWorkspaceRequest escape = Request();
  escape.mutable_schemas(0)->set_name("../etc");
  EXPECT_FALSE(NormalizeOpenRequest(escape).ok());
  v1::NodeOpenWorkspaceRequest big_uid = Request();
  big_uid.set_uid(70000);
  EXPECT_FALSE(NormalizeOpenRequest(big_uid).ok());
}

TEST(WorkspaceSpecTest, SchemasReadOnlyHomeAndOutputsWritableNoHostRoot) {
  NodeDirs dirs{"/var/lib/kura/node", "/run/kura/node"};
  WorkspacePolicy policy;
  policy.init_binary = "/usr/libexec/kura/kura-workspace-init";
  policy.disk_bytes = 1 << 30;
  v1::SandboxSpec spec = BuildWorkspaceSpec(*NormalizeOpenRequest(Request()), dirs, policy);
  EXPECT_TRUE(spec.host_rootfs());
  EXPECT_EQ(spec.uid(), 1000u);
  EXPECT_EQ(spec.argv(0), kInitPathInside);
  EXPECT_EQ(spec.limits().cpus(), 2);
  EXPECT_EQ(spec.limits().memory_bytes(), 4ull << 30);
  EXPECT_EQ(spec.limits().file_size_bytes(), 1u << 30);
  std::map<std::string, const v1::Mount*> by_target;
  for (const v1::Mount& m : spec.mounts()) by_target[m.target()] = &m;
  ASSERT_TRUE(by_target.count("/data/claims"));
  EXPECT_TRUE(by_target["/data/claims"]->read_only());
  EXPECT_EQ(by_target["/data/claims"]->source(), "/srv/schemas/claims");
  ASSERT_TRUE(by_target.count("/home/alice"));
  EXPECT_FALSE(by_target["/home/alice"]->read_only());
  EXPECT_EQ(by_target["/home/alice"]->source(), "/var/lib/kura/node/homes/cardio/alice");
  ASSERT_TRUE(by_target.count("/outputs"));
  EXPECT_EQ(by_target["/outputs"]->source(), "/var/lib/kura/node/workspaces/ws-1/outputs");
  ASSERT_TRUE(by_target.count("/tmp"));
  EXPECT_EQ(by_target["/tmp"]->kind(), v1::Mount::TMPFS);
  EXPECT_TRUE(by_target[kInitPathInside]->read_only());
  EXPECT_EQ(by_target.size(), 6u) << "nothing else of the host is mounted";
  EXPECT_THAT(spec.env(), ::testing::Contains("PYTHONPATH=/opt/kura/python"));

  policy.python_dir = "/usr/share/kura/python";
  spec = BuildWorkspaceSpec(*NormalizeOpenRequest(Request()), dirs, policy);
  const v1::Mount& python = spec.mounts(spec.mounts_size() - 1);
  EXPECT_EQ(python.target(), kPythonDirInside);
  EXPECT_EQ(python.source(), "/usr/share/kura/python");
  EXPECT_TRUE(python.read_only());
}

TEST(WorkspaceSpecTest, AGpuWorkspaceGetsTheControlNodesItsGpuAndCudaVisibleDevices) {
  NodeDirs dirs{"/var/lib/kura/node", "/run/kura/node"};
  WorkspacePolicy policy;
  policy.init_binary = "/usr/libexec/kura/kura-workspace-init";
  NvidiaGpus node_gpus;
  node_gpus.control_nodes = {"/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools"};
  node_gpus.gpus = {{0, "NVIDIA H100", 80ull << 30, "GPU-00000000-0000-0000-0000-000000000000", 0,
                     "/dev/nvidia0"},
                    {1, "NVIDIA H100", 80ull << 30, "GPU-11111111-1111-1111-1111-111111111111", 1,
                     "/dev/nvidia1"}};
  v1::NodeOpenWorkspaceRequest request = *NormalizeOpenRequest(Request());
  (*request.mutable_resources()->mutable_devices())[kNvidiaGpuKind] = 1;

  v1::SandboxSpec spec =
      BuildWorkspaceSpec(request, dirs, policy, GpusForWorkspace(node_gpus, {1}));
  EXPECT_THAT(spec.devices(), ::testing::ElementsAre("/dev/nvidiactl", "/dev/nvidia-uvm",
                                                     "/dev/nvidia-uvm-tools", "/dev/nvidia1"));
  EXPECT_THAT(spec.env(),
              ::testing::Contains("CUDA_VISIBLE_DEVICES=GPU-11111111-1111-1111-1111-111111111111"));
  EXPECT_EQ(spec.seccomp_profile(), "analysis") << "a GPU does not loosen the filter";

  v1::SandboxSpec cpu_only = BuildWorkspaceSpec(*NormalizeOpenRequest(Request()), dirs, policy);
  EXPECT_THAT(cpu_only.devices(), ::testing::IsEmpty());
  EXPECT_THAT(cpu_only.env(),
              ::testing::Not(::testing::Contains(::testing::StartsWith("CUDA_VISIBLE_DEVICES="))));
}

}  // namespace
}  // namespace kura::node
