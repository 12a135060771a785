// cgroup v1: one directory per controller (memory, pids, cpu), each under the launcher's own
// cgroup of that controller, so that whatever limits the launcher itself runs under still bound
// the sandbox. Processes are added by the launcher writing cgroup.procs before the child goes on.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status.h"
#include "sandbox/cgroup.h"

namespace kura::sandbox {
namespace {

constexpr char kRoot[] = "/sys/fs/cgroup";
constexpr uint64_t kCfsPeriodUs = 100000;

// The launcher's path in the v1 hierarchy of `controller` ("/" when at its root).
std::string OwnCgroupPath(const std::string& controller) {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> fields = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (fields.size() != 3) continue;
    for (absl::string_view name : absl::StrSplit(fields[1], ',')) {
      if (name == controller) return fields[2];
    }
  }
  return "/";
}

class CgroupV1 final : public SandboxCgroup {
 public:
  explicit CgroupV1(std::string name) : name_(std::move(name)) {}
  ~CgroupV1() override { Destroy().IgnoreError(); }

  absl::Status AddController(const std::string& controller) {
    std::string base = absl::StrCat(kRoot, "/", controller);
    struct stat st;
    if (stat(base.c_str(), &st) != 0) return ErrnoError("stat", base);
    std::string own = OwnCgroupPath(controller);
    std::string dir = absl::StrCat(base, own == "/" ? "" : own, "/", name_);
    if (mkdir(dir.c_str(), 0755) != 0) return ErrnoError("mkdir", dir);
    dirs_.push_back(dir);
    return absl::OkStatus();
  }

  absl::Status Limit(const v1::Limits& limits) {
    const std::string& memory = dirs_[0];
    // No swap: with swappiness 0 and memsw equal to the memory limit, the memory limit is all
    // the sandbox gets, and going past it means the OOM killer, not slow swapping.
    WriteControlFile(memory + "/memory.swappiness", "0").IgnoreError();
    if (limits.memory_bytes() > 0) {
      std::string bytes = absl::StrCat(limits.memory_bytes());
      KURA_RETURN_IF_ERROR(WriteControlFile(memory + "/memory.limit_in_bytes", bytes));
      if (access((memory + "/memory.memsw.limit_in_bytes").c_str(), F_OK) == 0) {
        KURA_RETURN_IF_ERROR(WriteControlFile(memory + "/memory.memsw.limit_in_bytes", bytes));
      }
    }
    if (limits.pids() > 0) {
      KURA_RETURN_IF_ERROR(WriteControlFile(dirs_[1] + "/pids.max", absl::StrCat(limits.pids())));
    }
    if (limits.cpus() > 0) {
      uint64_t quota = static_cast<uint64_t>(limits.cpus() * kCfsPeriodUs);
      KURA_RETURN_IF_ERROR(
          WriteControlFile(dirs_[2] + "/cpu.cfs_period_us", absl::StrCat(kCfsPeriodUs)));
      KURA_RETURN_IF_ERROR(WriteControlFile(dirs_[2] + "/cpu.cfs_quota_us", absl::StrCat(quota)));
    }
    return absl::OkStatus();
  }

  int clone_fd() const override { return -1; }

  absl::Status AddProcess(pid_t pid) override {
    std::string value = absl::StrCat(pid);
    for (const std::string& dir : dirs_) {
      KURA_RETURN_IF_ERROR(WriteControlFile(dir + "/cgroup.procs", value));
    }
    return absl::OkStatus();
  }

  uint64_t OomKills() const override {
    return dirs_.empty() ? 0 : ReadKeyedCounter(dirs_[0] + "/memory.oom_control", "oom_kill");
  }

  uint64_t PeakMemoryBytes() const override {
    if (dirs_.empty()) return 0;
    std::ifstream in(dirs_[0] + "/memory.max_usage_in_bytes");
    uint64_t peak = 0;
    in >> peak;
    return peak;
  }

  absl::Status Destroy() override {
    absl::Status result;
    for (const std::string& dir : dirs_) {
      std::ifstream procs(dir + "/cgroup.procs");
      for (pid_t pid; procs >> pid;) kill(pid, SIGKILL);
    }
    for (const std::string& dir : dirs_) {
      absl::Status removed = RemoveCgroupDir(dir);
      if (result.ok()) result = removed;
    }
    dirs_.clear();
    return result;
  }

 private:
  std::string name_;
  std::vector<std::string> dirs_;  // memory, pids, cpu
};

}  // namespace

absl::StatusOr<std::unique_ptr<SandboxCgroup>> CreateCgroupV1(const std::string& name,
                                                              const v1::Limits& limits) {
  auto cgroup = std::make_unique<CgroupV1>(name);
  for (const char* controller : {"memory", "pids", "cpu"}) {
    KURA_RETURN_IF_ERROR(cgroup->AddController(controller));
  }
  KURA_RETURN_IF_ERROR(cgroup->Limit(limits));
  return cgroup;
}

}  // namespace kura::sandbox
