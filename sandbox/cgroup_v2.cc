// cgroup v2: one directory under $KURA_CGROUP_PARENT (default /sys/fs/cgroup/kura), with the
// memory, pids and cpu controllers enabled on the way down. The child is cloned straight into it
// with clone3(CLONE_INTO_CGROUP): no window where it runs unconfined, no extra write per start.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "sandbox/cgroup.h"

namespace kura::sandbox {
namespace {

constexpr char kRoot[] = "/sys/fs/cgroup";
constexpr uint64_t kCpuPeriodUs = 100000;

std::string ParentDir() {
  const char* parent = std::getenv("KURA_CGROUP_PARENT");
  return absl::StrCat(kRoot, "/", parent != nullptr && *parent != '\0' ? parent : "kura");
}

// Kills and removes the cgroups of launchers that died without cleaning up (kura-<pid>-...
// whose pid is gone). Best effort.
void SweepStaleCgroups(const std::string& parent) {
  DIR* dir = opendir(parent.c_str());
  if (dir == nullptr) return;
  while (dirent* entry = readdir(dir)) {
    pid_t owner = 0;
    if (std::sscanf(entry->d_name, "kura-%d-", &owner) != 1 || owner <= 0) continue;
    if (kill(owner, 0) == 0 || errno != ESRCH) continue;
    std::string stale = absl::StrCat(parent, "/", entry->d_name);
    WriteControlFile(stale + "/cgroup.kill", "1").IgnoreError();
    rmdir(stale.c_str());
  }
  closedir(dir);
}

// Makes sure `dir` exists and delegates memory, pids and cpu to its children.
absl::Status PrepareParent(const std::string& dir) {
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoError("mkdir", dir);
  std::string root_control = absl::StrCat(kRoot, "/cgroup.subtree_control");
  for (const std::string& control : {root_control, dir + "/cgroup.subtree_control"}) {
    std::ifstream in(control);
    std::string enabled((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (enabled.find("memory") != std::string::npos && enabled.find("pids") != std::string::npos &&
        enabled.find("cpu") != std::string::npos) {
      continue;
    }
    KURA_RETURN_IF_ERROR(WriteControlFile(control, "+memory +pids +cpu"));
  }
  return absl::OkStatus();
}

class CgroupV2 final : public SandboxCgroup {
 public:
  explicit CgroupV2(std::string dir) : dir_(std::move(dir)) {}
  ~CgroupV2() override { Destroy().IgnoreError(); }

  absl::Status Open(const v1::Limits& limits) {
    if (mkdir(dir_.c_str(), 0755) != 0) return ErrnoError("mkdir", dir_);
    created_ = true;
    if (limits.memory_bytes() > 0) {
      KURA_RETURN_IF_ERROR(
          WriteControlFile(dir_ + "/memory.max", absl::StrCat(limits.memory_bytes())));
    }
    KURA_RETURN_IF_ERROR(WriteControlFile(dir_ + "/memory.swap.max", "0"));
    if (limits.pids() > 0) {
      KURA_RETURN_IF_ERROR(WriteControlFile(dir_ + "/pids.max", absl::StrCat(limits.pids())));
    }
    if (limits.cpus() > 0) {
      uint64_t quota = static_cast<uint64_t>(limits.cpus() * kCpuPeriodUs);
      KURA_RETURN_IF_ERROR(
          WriteControlFile(dir_ + "/cpu.max", absl::StrCat(quota, " ", kCpuPeriodUs)));
    }
    fd_ = UniqueFd(open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd_) return ErrnoError("open", dir_);
    return absl::OkStatus();
  }

  int clone_fd() const override { return fd_.get(); }

  absl::StatusOr<long> RunInside(const std::function<long()>& clone) override {
    return clone();  // clone_fd() places the child
  }

  uint64_t OomKills() const override {
    return ReadKeyedCounter(dir_ + "/memory.events", "oom_kill");
  }

  uint64_t PeakMemoryBytes() const override {
    std::ifstream in(dir_ + "/memory.peak");
    uint64_t peak = 0;
    in >> peak;
    return peak;
  }

  absl::Status Destroy() override {
    if (!created_) return absl::OkStatus();
    fd_.Reset();
    WriteControlFile(dir_ + "/cgroup.kill", "1").IgnoreError();
    created_ = false;
    return RemoveCgroupDir(dir_);
  }

 private:
  std::string dir_;
  UniqueFd fd_;
  bool created_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SandboxCgroup>> CreateCgroupV2(const std::string& name,
                                                              const v1::Limits& limits) {
  std::string parent = ParentDir();
  KURA_RETURN_IF_ERROR(PrepareParent(parent));
  static std::once_flag swept;
  std::call_once(swept, [&parent] { SweepStaleCgroups(parent); });
  auto cgroup = std::make_unique<CgroupV2>(absl::StrCat(parent, "/", name));
  KURA_RETURN_IF_ERROR(cgroup->Open(limits));
  return cgroup;
}

}  // namespace kura::sandbox
