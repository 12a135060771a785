#include "node/gpu.h"

#include <dirent.h>
#include <dlfcn.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace kura::node {
namespace {

// The CUDA driver API's types, as cuda.h declares them; the header is not needed to build kura.
using CuResult = int;
using CuDevice = int;
struct CuUuid {
  unsigned char bytes[16];
};
constexpr CuResult kCudaSuccess = 0;

struct CudaDriverApi {
  CuResult (*init)(unsigned int flags);
  CuResult (*driver_get_version)(int* version);
  CuResult (*device_get_count)(int* count);
  CuResult (*device_get)(CuDevice* device, int ordinal);
  CuResult (*device_get_name)(char* name, int length, CuDevice device);
  CuResult (*device_total_mem)(size_t* bytes, CuDevice device);
  CuResult (*device_get_uuid)(CuUuid* uuid, CuDevice device);
  CuResult (*get_error_name)(CuResult error, const char** name);  // optional
};

// Resolves `names` in order and stores the first one found in `*slot`; false when none is there.
template <typename F>
bool Resolve(void* library, std::initializer_list<const char*> names, F* slot) {
  for (const char* name : names) {
    if (void* symbol = ::dlsym(library, name)) {
      *slot = reinterpret_cast<F>(symbol);
      return true;
    }
  }
  return false;
}

// The first symbol of the driver API missing from `library`, or "" when all are there.
std::string ResolveDriverApi(void* library, CudaDriverApi* api) {
  if (!Resolve(library, {"cuInit"}, &api->init)) return "cuInit";
  if (!Resolve(library, {"cuDriverGetVersion"}, &api->driver_get_version)) {
    return "cuDriverGetVersion";
  }
  if (!Resolve(library, {"cuDeviceGetCount"}, &api->device_get_count)) return "cuDeviceGetCount";
  if (!Resolve(library, {"cuDeviceGet"}, &api->device_get)) return "cuDeviceGet";
  if (!Resolve(library, {"cuDeviceGetName"}, &api->device_get_name)) return "cuDeviceGetName";
  if (!Resolve(library, {"cuDeviceTotalMem_v2"}, &api->device_total_mem)) {
    return "cuDeviceTotalMem_v2";
  }
  if (!Resolve(library, {"cuDeviceGetUuid_v2", "cuDeviceGetUuid"}, &api->device_get_uuid)) {
    return "cuDeviceGetUuid";
  }
  api->get_error_name = nullptr;
  Resolve(library, {"cuGetErrorName"}, &api->get_error_name);
  return "";
}

// "cuInit: CUDA error 100 (CUDA_ERROR_NO_DEVICE)".
std::string CudaFailure(const CudaDriverApi& api, const char* call, CuResult result) {
  std::string out = absl::StrCat(call, ": CUDA error ", result);
  const char* name = nullptr;
  if (api.get_error_name != nullptr && api.get_error_name(result, &name) == kCudaSuccess &&
      name != nullptr) {
    absl::StrAppend(&out, " (", name, ")");
  }
  return out;
}

// As nvidia-smi and CUDA_VISIBLE_DEVICES write it.
std::string FormatUuid(const CuUuid& uuid) {
  const unsigned char* b = uuid.bytes;
  return absl::StrFormat("GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                         b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
                         b[12], b[13], b[14], b[15]);
}

// Asks the driver for device `ordinal`; "" on success, else what failed.
std::string DescribeDevice(const CudaDriverApi& api, int ordinal, NvidiaGpu* gpu) {
  CuDevice device = 0;
  if (CuResult r = api.device_get(&device, ordinal); r != kCudaSuccess) {
    return CudaFailure(api, "cuDeviceGet", r);
  }
  char name[256] = {};
  if (CuResult r = api.device_get_name(name, sizeof(name) - 1, device); r != kCudaSuccess) {
    return CudaFailure(api, "cuDeviceGetName", r);
  }
  size_t memory = 0;
  if (CuResult r = api.device_total_mem(&memory, device); r != kCudaSuccess) {
    return CudaFailure(api, "cuDeviceTotalMem_v2", r);
  }
  CuUuid uuid{};
  if (CuResult r = api.device_get_uuid(&uuid, device); r != kCudaSuccess) {
    return CudaFailure(api, "cuDeviceGetUuid", r);
  }
  gpu->index = static_cast<uint32_t>(ordinal);
  gpu->name = name;
  gpu->memory_bytes = memory;
  gpu->uuid = FormatUuid(uuid);
  gpu->minor = gpu->index;
  return "";
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// "GPU UUID" -> "Device Minor" from each <proc_root>/driver/nvidia/gpus/<bus id>/information.
std::map<std::string, uint32_t> MinorsByUuid(const std::string& proc_root) {
  std::map<std::string, uint32_t> out;
  const std::string dir = proc_root + "/driver/nvidia/gpus";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  std::vector<std::string> buses;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') buses.push_back(e->d_name);
  }
  ::closedir(d);
  for (const std::string& bus : buses) {
    std::ifstream in(dir + "/" + bus + "/information");
    std::string line, uuid;
    uint32_t minor = 0;
    bool has_minor = false;
    while (std::getline(in, line)) {
      size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      absl::string_view key = absl::StripAsciiWhitespace(absl::string_view(line).substr(0, colon));
      absl::string_view value =
          absl::StripAsciiWhitespace(absl::string_view(line).substr(colon + 1));
      if (key == "GPU UUID") uuid = absl::AsciiStrToLower(value);
      if (key == "Device Minor") has_minor = absl::SimpleAtoi(value, &minor);
    }
    if (!uuid.empty() && has_minor) out[uuid] = minor;
  }
  return out;
}

std::string FormatGiB(uint64_t bytes) {
  return absl::StrFormat("%.1f GiB", static_cast<double>(bytes) / (1ull << 30));
}

}  // namespace

NvidiaGpus DetectNvidiaGpus(const std::string& cuda_library) {
  NvidiaGpus out;
  // RTLD_LOCAL: the driver's symbols must not stand in for anything else of the process.
  void* library = ::dlopen(cuda_library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    const char* error = ::dlerror();
    out.no_gpu_reason = absl::StrCat("cannot load the CUDA driver ", cuda_library, ": ",
                                     error != nullptr ? error : "dlopen failed");
    return out;
  }
  CudaDriverApi api{};
  if (std::string missing = ResolveDriverApi(library, &api); !missing.empty()) {
    out.no_gpu_reason = absl::StrCat("the CUDA driver ", cuda_library, " has no symbol ", missing);
    ::dlclose(library);  // nothing of it has run
    return out;
  }
  // From here on the library stays loaded for the life of the process (see gpu.h).
  if (CuResult r = api.init(0); r != kCudaSuccess) {
    out.no_gpu_reason = CudaFailure(api, "cuInit", r);
    return out;
  }
  if (CuResult r = api.driver_get_version(&out.driver_version); r != kCudaSuccess) {
    out.no_gpu_reason = CudaFailure(api, "cuDriverGetVersion", r);
    return out;
  }
  int count = 0;
  if (CuResult r = api.device_get_count(&count); r != kCudaSuccess) {
    out.no_gpu_reason = CudaFailure(api, "cuDeviceGetCount", r);
    return out;
  }
  if (count <= 0) {
    out.no_gpu_reason = absl::StrCat("the CUDA driver ", cuda_library, " reports no device");
    return out;
  }
  for (int i = 0; i < count; ++i) {
    NvidiaGpu gpu;
    if (std::string failed = DescribeDevice(api, i, &gpu); !failed.empty()) {
      out.gpus.clear();
      out.no_gpu_reason = absl::StrCat("device ", i, ": ", failed);
      return out;
    }
    out.gpus.push_back(std::move(gpu));
  }
  return out;
}

void FindNvidiaDeviceNodes(const std::string& dev_root, const std::string& proc_root,
                           NvidiaGpus* gpus) {
  if (gpus->gpus.empty()) return;
  if (!Exists(dev_root + "/nvidiactl")) {
    gpus->no_gpu_reason = absl::StrCat("the driver reports ", gpus->gpus.size(),
                                       " GPUs but there is no ", dev_root, "/nvidiactl");
    gpus->gpus.clear();
    return;
  }
  gpus->control_nodes.clear();
  for (const char* name : {"nvidiactl", "nvidia-uvm", "nvidia-uvm-tools"}) {
    std::string path = absl::StrCat(dev_root, "/", name);
    if (Exists(path)) gpus->control_nodes.push_back(path);
  }
  // CUDA without nvidia-uvm fails inside a sandbox, where nvidia-modprobe cannot create it.
  if (!Exists(dev_root + "/nvidia-uvm")) {
    gpus->warnings.push_back(absl::StrCat("no ", dev_root,
                                          "/nvidia-uvm: CUDA in workspaces will fail until the "
                                          "nvidia_uvm module is loaded and its node created"));
  }
  const std::map<std::string, uint32_t> minors = MinorsByUuid(proc_root);
  std::vector<NvidiaGpu> usable;
  for (NvidiaGpu& gpu : gpus->gpus) {
    auto it = minors.find(absl::AsciiStrToLower(gpu.uuid));
    gpu.minor = it != minors.end() ? it->second : gpu.index;
    std::string node = absl::StrCat(dev_root, "/nvidia", gpu.minor);
    if (!Exists(node)) {
      gpus->warnings.push_back(absl::StrCat("GPU ", gpu.index, " (", gpu.uuid, ") has no ", node,
                                            "; it is not offered"));
      continue;
    }
    gpu.device_node = std::move(node);
    usable.push_back(std::move(gpu));
  }
  gpus->gpus = std::move(usable);
  if (gpus->gpus.empty()) {
    gpus->no_gpu_reason = "no GPU has a device node";
    gpus->control_nodes.clear();
  }
}

NvidiaGpus FindNodeGpus(const NodeGpuOptions& options) {
  NvidiaGpus gpus;
  if (options.max_gpus == 0u) {
    gpus.no_gpu_reason = "the operator offers none (--gpus 0); the CUDA driver was not loaded";
    return gpus;
  }
  gpus = DetectNvidiaGpus(options.cuda_library);
  FindNvidiaDeviceNodes(options.dev_root, options.proc_root, &gpus);
  if (options.max_gpus.has_value() && !gpus.gpus.empty()) {
    if (*options.max_gpus < gpus.gpus.size()) {
      gpus.gpus.resize(*options.max_gpus);
    } else if (*options.max_gpus > gpus.gpus.size()) {
      gpus.warnings.push_back(absl::StrCat("--gpus ", *options.max_gpus, " but only ",
                                           gpus.gpus.size(), " GPUs can be offered"));
    }
  }
  return gpus;
}

std::string DescribeNvidiaGpus(const NvidiaGpus& gpus) {
  if (gpus.gpus.empty()) return absl::StrCat("no GPU: ", gpus.no_gpu_reason);
  std::vector<std::string> each;
  for (const NvidiaGpu& gpu : gpus.gpus) {
    each.push_back(absl::StrCat(gpu.index, ": ", gpu.name, ", ", FormatGiB(gpu.memory_bytes), ", ",
                                gpu.uuid, ", ", gpu.device_node));
  }
  return absl::StrCat(gpus.gpus.size(), " NVIDIA GPUs (CUDA driver ", gpus.driver_version / 1000,
                      ".", (gpus.driver_version % 1000) / 10, "): ", absl::StrJoin(each, "; "));
}

void AddGpuCapacity(const NvidiaGpus& gpus, v1::Resources* capacity) {
  if (gpus.gpus.empty()) return;
  (*capacity->mutable_devices())[kNvidiaGpuKind] = static_cast<uint32_t>(gpus.gpus.size());
}

absl::StatusOr<std::vector<uint32_t>> ChooseFreeGpus(const NvidiaGpus& gpus,
                                                     const std::set<uint32_t>& in_use,
                                                     uint32_t count) {
  std::vector<uint32_t> chosen;
  if (count == 0) return chosen;
  if (gpus.gpus.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("asked for ", count, " ", kNvidiaGpuKind,
                                                      " but this node has none (",
                                                      gpus.no_gpu_reason, ")"));
  }
  for (const NvidiaGpu& gpu : gpus.gpus) {
    if (chosen.size() < count && !in_use.count(gpu.index)) chosen.push_back(gpu.index);
  }
  if (chosen.size() < count) {
    size_t free = static_cast<size_t>(
        std::count_if(gpus.gpus.begin(), gpus.gpus.end(),
                      [&](const NvidiaGpu& gpu) { return !in_use.count(gpu.index); }));
    return absl::ResourceExhaustedError(absl::StrCat("asked for ", count, " ", kNvidiaGpuKind, ", ",
                                                     free, " of the node's ", gpus.gpus.size(),
                                                     " are free"));
  }
  return chosen;
}

WorkspaceGpus GpusForWorkspace(const NvidiaGpus& gpus, const std::vector<uint32_t>& indices) {
  WorkspaceGpus out;
  std::vector<std::string> uuids;
  for (uint32_t index : indices) {
    auto it = std::find_if(gpus.gpus.begin(), gpus.gpus.end(),
                           [&](const NvidiaGpu& gpu) { return gpu.index == index; });
    if (it == gpus.gpus.end()) continue;
    out.indices.push_back(index);
    out.device_nodes.push_back(it->device_node);
    uuids.push_back(it->uuid);
  }
  if (out.indices.empty()) return out;
  out.device_nodes.insert(out.device_nodes.begin(), gpus.control_nodes.begin(),
                          gpus.control_nodes.end());
  const bool all_uuids =
      std::none_of(uuids.begin(), uuids.end(), [](const std::string& u) { return u.empty(); });
  if (all_uuids) {
    out.cuda_visible_devices = absl::StrJoin(uuids, ",");
  } else {
    std::vector<size_t> ordinals;
    for (size_t i = 0; i < out.indices.size(); ++i) ordinals.push_back(i);
    out.cuda_visible_devices = absl::StrJoin(ordinals, ",");
  }
  return out;
}

}  // namespace kura::node
