// GPUs without a GPU: detection through a fake CUDA driver loaded by path (fake_cuda.c), device
// nodes in a temporary /dev, and the allocation of GPUs to real workspaces whose "GPUs" are
// character devices made for the test. The real driver is tried too and skipped without one.

#include "node/gpu.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node/workspace_host.h"
#include "tests/common/status_matchers.h"
#include "tests/node/node_test_env.h"

namespace kura::node {
namespace {

using ::kura::node::testing::ReadFile;
using ::kura::node::testing::WriteFile;
using ::kura::testing::IsOk;
using ::kura::testing::StatusIs;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kUuid0[] = "GPU-fa4e0000-0000-0000-0000-000000000000";
constexpr char kUuid1[] = "GPU-fa4e0000-0000-0000-0000-000000000001";

// Sets the fake driver's environment for one test and restores it after.
class FakeCudaEnv {
 public:
  FakeCudaEnv(int devices, int init_error = 0) {
    Set("KURA_FAKE_CUDA_DEVICES", absl::StrCat(devices));
    Set("KURA_FAKE_CUDA_INIT_ERROR", absl::StrCat(init_error));
    Set("KURA_FAKE_CUDA_NAME", "NVIDIA H100 80GB HBM3");
    Set("KURA_FAKE_CUDA_MEMORY_BYTES", absl::StrCat(80ull << 30));
  }
  ~FakeCudaEnv() {
    for (const std::string& name : set_) ::unsetenv(name.c_str());
  }

 private:
  void Set(const std::string& name, const std::string& value) {
    ::setenv(name.c_str(), value.c_str(), 1);
    set_.push_back(name);
  }
  std::vector<std::string> set_;
};

TEST(DetectNvidiaGpusTest, EveryFailureIsNoGpuWithItsReason) {
  struct Case {
    std::string what;
    std::string library;
    int devices;
    int init_error;
    std::string reason;
  } cases[] = {
      {"no library", "/nonexistent/libcuda.so.1", 2, 0,
       "cannot load the CUDA driver /nonexistent/libcuda.so.1"},
      {"a symbol missing", KURA_FAKE_CUDA_NO_UUID_LIBRARY, 2, 0, "has no symbol cuDeviceGetUuid"},
      {"cuInit failing, named", KURA_FAKE_CUDA_LIBRARY, 2, 100,
       "cuInit: CUDA error 100 (CUDA_ERROR_NO_DEVICE)"},
      {"cuInit failing, unnamed", KURA_FAKE_CUDA_LIBRARY, 2, 3, "cuInit: CUDA error 3"},
      {"no device", KURA_FAKE_CUDA_LIBRARY, 0, 0, "reports no device"},
  };
  for (const Case& c : cases) {
    FakeCudaEnv env(c.devices, c.init_error);
    NvidiaGpus gpus = DetectNvidiaGpus(c.library);
    EXPECT_THAT(gpus.gpus, IsEmpty()) << c.what;
    EXPECT_THAT(gpus.no_gpu_reason, HasSubstr(c.reason)) << c.what;
    EXPECT_THAT(DescribeNvidiaGpus(gpus), HasSubstr("no GPU: ")) << c.what;
  }
}

TEST(DetectNvidiaGpusTest, TwoGpusWithNameMemoryAndUuid) {
  FakeCudaEnv env(2);
  NvidiaGpus gpus = DetectNvidiaGpus(KURA_FAKE_CUDA_LIBRARY);
  EXPECT_EQ(gpus.no_gpu_reason, "");
  EXPECT_EQ(gpus.driver_version, 13000);
  ASSERT_EQ(gpus.gpus.size(), 2u);
  for (uint32_t i = 0; i < 2; ++i) {
    EXPECT_EQ(gpus.gpus[i].index, i);
    EXPECT_EQ(gpus.gpus[i].name, "NVIDIA H100 80GB HBM3");
    EXPECT_EQ(gpus.gpus[i].memory_bytes, 80ull << 30);
  }
  EXPECT_EQ(gpus.gpus[0].uuid, kUuid0);
  EXPECT_EQ(gpus.gpus[1].uuid, kUuid1);
}

// The CUDA toolkit's link-time stub is a libcuda that refuses to initialise: what a node with
// the toolkit but no driver would load from a misconfigured path.
TEST(DetectNvidiaGpusTest, TheToolkitsStubLibraryIsNoGpu) {
  const std::string stub = "/usr/local/cuda/lib64/stubs/libcuda.so";
  if (::access(stub.c_str(), R_OK) != 0) GTEST_SKIP() << "no CUDA toolkit stub at " << stub;
  NvidiaGpus gpus = DetectNvidiaGpus(stub);
  EXPECT_THAT(gpus.gpus, IsEmpty());
  EXPECT_THAT(gpus.no_gpu_reason, HasSubstr("cuInit: CUDA error 34"));  // STUB_LIBRARY
}

TEST(DetectNvidiaGpusTest, TheRealDriver) {
  NvidiaGpus gpus = FindNodeGpus({});
  if (gpus.gpus.empty()) GTEST_SKIP() << "no GPU on this machine: " << gpus.no_gpu_reason;
  EXPECT_GT(gpus.driver_version, 0);
  EXPECT_FALSE(gpus.control_nodes.empty());
  for (const NvidiaGpu& gpu : gpus.gpus) {
    EXPECT_FALSE(gpu.name.empty());
    EXPECT_GT(gpu.memory_bytes, 0u);
    EXPECT_EQ(gpu.uuid.size(), 40u) << gpu.uuid;
    EXPECT_EQ(gpu.device_node, absl::StrCat("/dev/nvidia", gpu.minor));
  }
}

// A temporary directory standing in for /dev and /proc.
class FakeHostTree {
 public:
  FakeHostTree() {
    char tmpl[] = "/tmp/kura-gpu-XXXXXX";
    root_ = ::mkdtemp(tmpl);
    std::filesystem::create_directories(dev());
  }
  ~FakeHostTree() { std::filesystem::remove_all(root_); }

  std::string dev() const { return root_ + "/dev"; }
  std::string proc() const { return root_ + "/proc"; }
  void Touch(const std::string& name) const { WriteFile(dev() + "/" + name, ""); }
  void GpuInformation(const std::string& bus, const std::string& uuid, int minor) const {
    std::string dir = proc() + "/driver/nvidia/gpus/" + bus;
    std::filesystem::create_directories(dir);
    WriteFile(dir + "/information",
              absl::StrCat("Model: \t\t NVIDIA H100 80GB HBM3\nGPU UUID: \t ", uuid,
                           "\nBus Location: \t ", bus, "\nDevice Minor: \t ", minor, "\n"));
  }

 private:
  std::string root_;
};

NvidiaGpus TwoDetectedGpus() {
  NvidiaGpus gpus;
  gpus.driver_version = 13000;
  gpus.gpus = {{0, "NVIDIA H100 80GB HBM3", 80ull << 30, kUuid0, 0, ""},
               {1, "NVIDIA H100 80GB HBM3", 80ull << 30, kUuid1, 1, ""}};
  return gpus;
}

TEST(FindNvidiaDeviceNodesTest, ControlNodesThatExistAndEachGpusMinor) {
  FakeHostTree tree;
  for (const char* name : {"nvidiactl", "nvidia-uvm", "nvidia0", "nvidia1", "nvidia3"}) {
    tree.Touch(name);
  }
  // GPU 1 is minor 3 (minors follow the PCI order, CUDA's indices the fastest GPU first).
  tree.GpuInformation("0000:3b:00.0", "gpu-FA4E0000-0000-0000-0000-000000000001", 3);
  NvidiaGpus gpus = TwoDetectedGpus();
  FindNvidiaDeviceNodes(tree.dev(), tree.proc(), &gpus);
  EXPECT_THAT(gpus.control_nodes,
              ElementsAre(tree.dev() + "/nvidiactl", tree.dev() + "/nvidia-uvm"))
      << "nvidia-uvm-tools does not exist";
  ASSERT_EQ(gpus.gpus.size(), 2u);
  EXPECT_EQ(gpus.gpus[0].minor, 0u) << "not in /proc: its index";
  EXPECT_EQ(gpus.gpus[0].device_node, tree.dev() + "/nvidia0");
  EXPECT_EQ(gpus.gpus[1].minor, 3u);
  EXPECT_EQ(gpus.gpus[1].device_node, tree.dev() + "/nvidia3");
  EXPECT_THAT(gpus.warnings, IsEmpty());
}

TEST(FindNvidiaDeviceNodesTest, NoNodeNoGpu) {
  FakeHostTree tree;
  NvidiaGpus without_ctl = TwoDetectedGpus();
  tree.Touch("nvidia0");
  tree.Touch("nvidia1");
  FindNvidiaDeviceNodes(tree.dev(), tree.proc(), &without_ctl);
  EXPECT_THAT(without_ctl.gpus, IsEmpty());
  EXPECT_THAT(without_ctl.no_gpu_reason, HasSubstr(tree.dev() + "/nvidiactl"));

  FakeHostTree one_node;
  one_node.Touch("nvidiactl");
  one_node.Touch("nvidia1");
  NvidiaGpus gpus = TwoDetectedGpus();
  FindNvidiaDeviceNodes(one_node.dev(), one_node.proc(), &gpus);
  ASSERT_EQ(gpus.gpus.size(), 1u);
  EXPECT_EQ(gpus.gpus[0].index, 1u);
  EXPECT_THAT(gpus.warnings, ::testing::Contains(HasSubstr("GPU 0")));
  EXPECT_THAT(gpus.warnings, ::testing::Contains(HasSubstr("nvidia-uvm")));
}

TEST(FindNodeGpusTest, DriverThenNodesThenTheOperatorsLimit) {
  FakeCudaEnv env(2);
  FakeHostTree tree;
  for (const char* name : {"nvidiactl", "nvidia-uvm", "nvidia-uvm-tools", "nvidia0", "nvidia1"}) {
    tree.Touch(name);
  }
  NodeGpuOptions options;
  options.cuda_library = KURA_FAKE_CUDA_LIBRARY;
  options.dev_root = tree.dev();
  options.proc_root = tree.proc();
  NvidiaGpus gpus = FindNodeGpus(options);
  ASSERT_EQ(gpus.gpus.size(), 2u) << gpus.no_gpu_reason;
  EXPECT_EQ(gpus.control_nodes.size(), 3u);
  EXPECT_THAT(DescribeNvidiaGpus(gpus),
              HasSubstr("2 NVIDIA GPUs (CUDA driver 13.0): 0: NVIDIA H100 80GB HBM3, 80.0 GiB, "
                        "GPU-fa4e0000-0000-0000-0000-000000000000"));
  v1::Resources capacity;
  AddGpuCapacity(gpus, &capacity);
  EXPECT_EQ(capacity.devices().at(kNvidiaGpuKind), 2u);

  options.max_gpus = 1;
  gpus = FindNodeGpus(options);
  ASSERT_EQ(gpus.gpus.size(), 1u);
  EXPECT_EQ(gpus.gpus[0].index, 0u);

  options.max_gpus = 0;
  gpus = FindNodeGpus(options);
  EXPECT_THAT(gpus.gpus, IsEmpty());
  EXPECT_THAT(gpus.no_gpu_reason, HasSubstr("--gpus 0"));
  v1::Resources cpu_only;
  AddGpuCapacity(gpus, &cpu_only);
  EXPECT_THAT(cpu_only.devices(), IsEmpty()) << "a node without GPU announces no device kind";
}

NvidiaGpus TwoGpusWithNodes() {
  NvidiaGpus gpus = TwoDetectedGpus();
  gpus.control_nodes = {"/dev/nvidiactl", "/dev/nvidia-uvm"};
  gpus.gpus[0].device_node = "/dev/nvidia0";
  gpus.gpus[1].device_node = "/dev/nvidia1";
  return gpus;
}

TEST(ChooseFreeGpusTest, LowestFreeFirstAndTheShortfallNamed) {
  struct Case {
    std::set<uint32_t> in_use;
    uint32_t count;
    std::optional<std::vector<uint32_t>> chosen;  // nullopt: refused
    std::string message;
  } cases[] = {
      {{}, 0, std::vector<uint32_t>{}, ""},
      {{}, 1, std::vector<uint32_t>{0}, ""},
      {{0}, 1, std::vector<uint32_t>{1}, ""},
      {{}, 2, std::vector<uint32_t>{0, 1}, ""},
      {{0, 1}, 1, std::nullopt, "asked for 1 nvidia.com/gpu, 0 of the node's 2 are free"},
      {{1}, 2, std::nullopt, "asked for 2 nvidia.com/gpu, 1 of the node's 2 are free"},
      {{}, 3, std::nullopt, "asked for 3 nvidia.com/gpu, 2 of the node's 2 are free"},
  };
  for (const Case& c : cases) {
    auto chosen = ChooseFreeGpus(TwoGpusWithNodes(), c.in_use, c.count);
    if (c.chosen.has_value()) {
      ASSERT_THAT(chosen.status(), IsOk());
      EXPECT_EQ(*chosen, *c.chosen);
    } else {
      EXPECT_THAT(chosen.status(), StatusIs(absl::StatusCode::kResourceExhausted, c.message));
    }
  }
  NvidiaGpus none;
  none.no_gpu_reason = "cannot load the CUDA driver libcuda.so.1";
  EXPECT_THAT(ChooseFreeGpus(none, {}, 1).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("has none")));
  EXPECT_THAT(ChooseFreeGpus(none, {}, 0).status(), IsOk());
}

TEST(GpusForWorkspaceTest, ControlNodesItsGpusAndVisibleDevices) {
  WorkspaceGpus second = GpusForWorkspace(TwoGpusWithNodes(), {1});
  EXPECT_THAT(second.indices, ElementsAre(1u));
  EXPECT_THAT(second.device_nodes,
              ElementsAre("/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia1"));
  EXPECT_EQ(second.cuda_visible_devices, kUuid1);

  WorkspaceGpus both = GpusForWorkspace(TwoGpusWithNodes(), {1, 0});
  EXPECT_EQ(both.cuda_visible_devices, absl::StrCat(kUuid1, ",", kUuid0));

  NvidiaGpus no_uuids = TwoGpusWithNodes();
  for (NvidiaGpu& gpu : no_uuids.gpus) gpu.uuid.clear();
  EXPECT_EQ(GpusForWorkspace(no_uuids, {0, 1}).cuda_visible_devices, "0,1");

  WorkspaceGpus none = GpusForWorkspace(TwoGpusWithNodes(), {});
  EXPECT_THAT(none.device_nodes, IsEmpty());
  EXPECT_EQ(none.cuda_visible_devices, "");
}

// kura-node itself on this machine: with the system's driver or a fake one whose GPUs have no
// device nodes here, it serves and announces exactly the capacity of a CPU node.
TEST(NodeWithoutGpuTest, ServesAndAnnouncesNoDevice) {
  if (::geteuid() != 0) GTEST_SKIP() << "kura-node needs root";
  if (::access("/dev/nvidiactl", F_OK) == 0) GTEST_SKIP() << "this machine has an NVIDIA driver";
  FakeCudaEnv env(2);
  for (const std::vector<std::string>& flags :
       {std::vector<std::string>{}, {"--cuda-library", KURA_FAKE_CUDA_LIBRARY}}) {
    testing::NodeTestEnv node;
    node.StartNode(flags);
    grpc::ClientContext context;
    v1::Inventory inventory;
    grpc::Status status =
        node.GatewayStub()->GetInventory(&context, v1::GetInventoryRequest(), &inventory);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_GT(inventory.capacity().cpus(), 0);
    EXPECT_THAT(inventory.capacity().devices(), IsEmpty()) << ::testing::PrintToString(flags);
    EXPECT_THAT(inventory.allocated().devices(), IsEmpty());
  }
}

// Real workspaces (supervisors, sandboxes) on a node whose two "GPUs" are character devices made
// for the test (the numbers of /dev/null) under a directory of their own.
class GpuWorkspaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "workspaces need root (namespaces, mounts, cgroups)";
    char state[] = "/tmp/kura-gpu-node-XXXXXX";
    dir_ = ::mkdtemp(state);
    ::chmod(dir_.c_str(), 0755);
    // Not under /tmp: the sandbox binds each device at its host path and mounts its own /tmp.
    char dev[] = "/var/tmp/kura-gpu-dev-XXXXXX";
    dev_ = ::mkdtemp(dev);
    ::chmod(dev_.c_str(), 0755);
    for (const char* name : {"nvidiactl", "nvidia-uvm", "nvidia0", "nvidia1"}) {
      std::string path = dev_ + "/" + name;
      if (::mknod(path.c_str(), S_IFCHR | 0666, ::makedev(1, 3)) != 0) {
        GTEST_SKIP() << "cannot make device nodes here: mknod " << path;
      }
    }
    FakeCudaEnv env(2);
    NodeGpuOptions gpu_options;
    gpu_options.cuda_library = KURA_FAKE_CUDA_LIBRARY;
    gpu_options.dev_root = dev_;
    gpu_options.proc_root = dev_ + "/no-proc";
    options_.gpus = FindNodeGpus(gpu_options);
    ASSERT_EQ(options_.gpus.gpus.size(), 2u) << options_.gpus.no_gpu_reason;
    options_.dirs = {dir_ + "/state", dir_ + "/run"};
    options_.node_id = "node-1";
    options_.self_binary = KURA_NODE_BINARY;
    const std::string binary = KURA_NODE_BINARY;
    options_.policy.init_binary = binary.substr(0, binary.rfind('/')) + "/kura-workspace-init";
    host_ = std::make_unique<WorkspaceHost>(options_);
    ASSERT_THAT(host_->Prepare(), IsOk());
  }

  void TearDown() override {
    if (host_ != nullptr) {
      for (const v1::Workspace& ws : host_->List()) (void)host_->Close(ws.id(), "test ends");
    }
    std::error_code ignored;
    if (!HasFailure() && !dir_.empty()) std::filesystem::remove_all(dir_, ignored);
    if (!dev_.empty()) std::filesystem::remove_all(dev_, ignored);
  }

  absl::StatusOr<v1::Workspace> Open(const std::string& id, uint32_t uid, uint32_t gpus) {
    v1::NodeOpenWorkspaceRequest request;
    request.set_workspace_id(id);
    request.set_project("cardio");
    request.set_user(absl::StrCat("user", uid));  // a home of its own, owned by its uid
    request.set_uid(uid);
    request.mutable_resources()->set_cpus(1);
    request.mutable_resources()->set_memory_bytes(512ull << 20);
    if (gpus > 0) (*request.mutable_resources()->mutable_devices())[kNvidiaGpuKind] = gpus;
    return host_->Open(request);
  }

  // The devices of workspace `id`'s sandbox, as its spec lists them.
  std::string SpecOf(const std::string& id) { return ReadFile(options_.dirs.SpecFile(id)); }

  // What `sh -c script` prints inside workspace `id`.
  std::string Run(const std::string& id, const std::string& script) {
    auto call = host_->Call(id, {"job", "", "0", "sh", "-c", script});
    EXPECT_THAT(call.status(), IsOk());
    if (!call.ok() || call->second.fds.size() != 3) return "";
    call->second.fds[0].Reset();
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(call->second.fds[1].get(), buf, sizeof(buf))) > 0) out.append(buf, n);
    while ((n = ::read(call->second.fds[2].get(), buf, sizeof(buf))) > 0) out.append(buf, n);
    return out;
  }

  std::string dir_, dev_;
  WorkspaceHost::Options options_;
  std::unique_ptr<WorkspaceHost> host_;
};

TEST_F(GpuWorkspaceTest, DistinctGpusRefusalWhenAllAreTakenAndFreedOnClose) {
  ASSERT_THAT(Open("ws-a", 1601, 1).status(), IsOk());
  ASSERT_THAT(Open("ws-b", 1602, 1).status(), IsOk());
  const std::string a = SpecOf("ws-a"), b = SpecOf("ws-b");
  EXPECT_THAT(a, HasSubstr(dev_ + "/nvidia0\""));
  EXPECT_THAT(a, ::testing::Not(HasSubstr(dev_ + "/nvidia1\"")));
  EXPECT_THAT(b, HasSubstr(dev_ + "/nvidia1\""));
  EXPECT_THAT(b, ::testing::Not(HasSubstr(dev_ + "/nvidia0\"")));

  // Inside: the control nodes and its own GPU, and CUDA told which one it is.
  EXPECT_EQ(Run("ws-a", absl::StrCat("echo $CUDA_VISIBLE_DEVICES; ls ", dev_)),
            absl::StrCat(kUuid0, "\nnvidia-uvm\nnvidia0\nnvidiactl\n"));
  EXPECT_EQ(Run("ws-b", absl::StrCat("ls ", dev_)), "nvidia-uvm\nnvidia1\nnvidiactl\n");

  EXPECT_THAT(Open("ws-c", 1603, 1).status(),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("0 of the node's 2")));
  EXPECT_EQ(host_->Allocated().devices().at(kNvidiaGpuKind), 2u);

  ASSERT_THAT(host_->Close("ws-a", "done"), IsOk());
  EXPECT_THAT(host_->GpusInUse(), ElementsAre(1u));
  ASSERT_THAT(Open("ws-c", 1603, 1).status(), IsOk());
  EXPECT_THAT(SpecOf("ws-c"), HasSubstr(dev_ + "/nvidia0\""));
}

TEST_F(GpuWorkspaceTest, ARestartedAgentKnowsWhichGpusAreTaken) {
  ASSERT_THAT(Open("ws-r", 1604, 2).status(), IsOk());
  WorkspaceHost restarted(options_);
  ASSERT_THAT(restarted.Prepare(), IsOk());
  EXPECT_THAT(restarted.GpusInUse(), ElementsAre(0u, 1u));
  v1::NodeOpenWorkspaceRequest request;
  request.set_workspace_id("ws-s");
  request.set_project("cardio");
  request.set_user("alice");
  request.set_uid(1605);
  (*request.mutable_resources()->mutable_devices())[kNvidiaGpuKind] = 1;
  EXPECT_THAT(restarted.Open(request).status(), StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST_F(GpuWorkspaceTest, ACpuWorkspaceGetsNoGpuAndOtherKindsAreRefused) {
  ASSERT_THAT(Open("ws-cpu", 1606, 0).status(), IsOk());
  EXPECT_THAT(SpecOf("ws-cpu"), ::testing::Not(HasSubstr("nvidia")));
  EXPECT_EQ(
      Run("ws-cpu", absl::StrCat("echo \"[$CUDA_VISIBLE_DEVICES]\"; ls ", dev_, " 2>&1 | wc -l")),
      "[]\n1\n");  // ls: cannot access
  EXPECT_THAT(host_->GpusInUse(), IsEmpty());

  v1::NodeOpenWorkspaceRequest npu;
  npu.set_workspace_id("ws-npu");
  npu.set_project("cardio");
  npu.set_user("alice");
  npu.set_uid(1607);
  (*npu.mutable_resources()->mutable_devices())["example.com/npu"] = 1;
  EXPECT_THAT(host_->Open(npu).status(),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("example.com/npu")));
}

}  // namespace
}  // namespace kura::node
