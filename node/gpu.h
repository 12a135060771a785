#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kura/v1/common.pb.h"

namespace kura::node {

// The device kind under which a node announces its NVIDIA GPUs in `Resources.devices`, and under
// which a workspace asks for them.
inline constexpr char kNvidiaGpuKind[] = "nvidia.com/gpu";

// Where the CUDA driver library is looked for unless the operator names another one.
inline constexpr char kDefaultCudaLibrary[] = "libcuda.so.1";

// One NVIDIA GPU as the CUDA driver reports it, and the device node that reaches it.
struct NvidiaGpu {
  uint32_t index = 0;         // CUDA's device ordinal on the host
  std::string name;           // e.g. "NVIDIA H100 80GB HBM3"
  uint64_t memory_bytes = 0;  // total device memory
  std::string uuid;           // "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", as nvidia-smi writes it
  uint32_t minor = 0;         // the minor number of its /dev/nvidia<minor>
  std::string device_node;    // host path of that node; "" until FindNvidiaDeviceNodes
};

// The GPUs of this node that workspaces may be given. Empty `gpus` means "no GPU", and
// `no_gpu_reason` says why (no driver library, a missing symbol, a failing call, no device
// node). A plain value.
struct NvidiaGpus {
  int driver_version = 0;  // the CUDA driver API version, e.g. 13000 for 13.0
  std::vector<NvidiaGpu> gpus;
  std::vector<std::string> control_nodes;  // /dev/nvidiactl, /dev/nvidia-uvm, ... that exist
  std::string no_gpu_reason;
  std::vector<std::string> warnings;  // GPUs the driver reports but that cannot be offered, ...
};

// Asks the CUDA driver API, loaded with dlopen from `cuda_library` (a soname or a path), for its
// GPUs: cuInit(0), then each device's name, total memory and UUID, and the driver's version. Never
// fails and never aborts: without the library, with a symbol missing or a call failing, the
// answer has no GPU and a reason naming the library, the symbol or the call with its CUDA error.
// The driver is not linked, so kura-node runs on machines that have none.
//
// The library stays loaded for the life of the process once cuInit was called: the driver may
// have started threads and registered exit handlers, which unloading it would leave pointing
// nowhere. When it is refused before cuInit (a missing symbol) it is closed again. Call it once,
// at start, before serving (it is not meant to run concurrently with itself).
NvidiaGpus DetectNvidiaGpus(const std::string& cuda_library);

// Completes `gpus` with the device nodes under `dev_root` (normally "/dev"): the control nodes
// nvidiactl, nvidia-uvm and nvidia-uvm-tools that exist, and each GPU's nvidia<minor>. The minor
// of a GPU is read by its UUID from <proc_root>/driver/nvidia/gpus/*/information ("GPU UUID",
// "Device Minor") and is its index when that file does not name it. A GPU whose node does not
// exist is dropped (with a warning); without nvidiactl no GPU is offered. Reads the file system.
void FindNvidiaDeviceNodes(const std::string& dev_root, const std::string& proc_root,
                           NvidiaGpus* gpus);

// How a node finds the GPUs it offers. A plain value.
struct NodeGpuOptions {
  std::string cuda_library = kDefaultCudaLibrary;  // --cuda-library
  std::optional<uint64_t> max_gpus;  // --gpus: offer at most this many; 0: do not load the driver
  std::string dev_root = "/dev";
  std::string proc_root = "/proc";
};

// The GPUs this node offers its workspaces: DetectNvidiaGpus, then FindNvidiaDeviceNodes, then at
// most `max_gpus` of them (lowest indices). Never fails; see DetectNvidiaGpus for the library.
NvidiaGpus FindNodeGpus(const NodeGpuOptions& options);

// One line for the node's log: each GPU with its name, memory, UUID and node, or "no GPU: why".
std::string DescribeNvidiaGpus(const NvidiaGpus& gpus);

// Adds the GPUs to a node's announced capacity (`devices[kNvidiaGpuKind]`); nothing when there is
// none, so a CPU node announces exactly what it did before GPUs were known. Pure.
void AddGpuCapacity(const NvidiaGpus& gpus, v1::Resources* capacity);

// What a workspace holding some of the node's GPUs is given. A plain value.
struct WorkspaceGpus {
  std::vector<uint32_t> indices;          // the host's CUDA ordinals, as chosen
  std::vector<std::string> device_nodes;  // control nodes, then each chosen GPU's node
  std::string cuda_visible_devices;       // CUDA_VISIBLE_DEVICES inside; "" for no GPU
};

// Chooses `count` GPUs of `gpus` that are not `in_use`, lowest index first. FailedPrecondition
// when the node has no GPU, ResourceExhausted naming the shortfall when fewer than `count` are
// free. Pure.
absl::StatusOr<std::vector<uint32_t>> ChooseFreeGpus(const NvidiaGpus& gpus,
                                                     const std::set<uint32_t>& in_use,
                                                     uint32_t count);

// The device nodes and CUDA_VISIBLE_DEVICES of a workspace holding GPUs `indices` of `gpus`:
// the GPUs' UUIDs (in the order given) when each has one, else 0..N-1 (inside the sandbox the
// driver sees only the GPUs whose nodes are there, renumbered from 0). Indices `gpus` does not
// hold are left out. Pure.
WorkspaceGpus GpusForWorkspace(const NvidiaGpus& gpus, const std::vector<uint32_t>& indices);

}  // namespace kura::node
