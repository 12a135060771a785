// cgroup v1: one directory per controller (memory, pids, cpu), each under the launcher's own
// cgroup of that controller, so that whatever limits the launcher itself runs under still bound
// the sandbox.
//
// v1 has no CLONE_INTO_CGROUP, and moving a process into a cgroup waits for an RCU grace period
// (cgroup_threadgroup_rwsem), 10-20 ms here: longer than a whole bwrap start. So the sandbox's
// init is cloned by a launcher thread that already sits in the cgroup, and is born there. That
// thread moves itself in (per-thread "tasks" files are v1's) ahead of time: each Launch takes a
// prepared cgroup from a small pool, which is refilled in the background.
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "common/logging.h"
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

// Kills what is left in, and removes, the cgroups that launchers killed before they could clean
// up left under `parent` (kura-<pid>-...: the pid is gone). Best effort: one that is still
// busy is left for a later sweep.
void SweepStaleCgroups(const std::string& parent) {
  DIR* dir = opendir(parent.c_str());
  if (dir == nullptr) return;
  while (dirent* entry = readdir(dir)) {
    pid_t owner = 0;
    if (std::sscanf(entry->d_name, "kura-%d-", &owner) != 1 || owner <= 0) continue;
    if (kill(owner, 0) == 0 || errno != ESRCH) continue;
    std::string stale = absl::StrCat(parent, "/", entry->d_name);
    std::ifstream procs(stale + "/cgroup.procs");
    for (pid_t pid; procs >> pid;) kill(pid, SIGKILL);
    rmdir(stale.c_str());
  }
  closedir(dir);
}

// A launcher thread that moves itself into the cgroup's directories, then runs what it is given
// (the clone of a sandbox's init) and stays parked until destroyed. Thread-safe.
class PlacedThread {
 public:
  explicit PlacedThread(std::vector<std::string> dirs)
      : dirs_(std::move(dirs)), thread_([this] { Main(); }) {}
  ~PlacedThread() {
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
    }
    thread_.join();
  }

  absl::StatusOr<long> Run(const std::function<long()>& fn) {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &PlacedThread::PlacedOrFailed));
    if (!placed_.ok()) return placed_;
    request_ = &fn;
    mu_.Await(absl::Condition(this, &PlacedThread::Answered));
    request_ = nullptr;
    answered_ = false;
    return result_;
  }

 private:
  bool PlacedOrFailed() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return placement_done_; }
  bool Answered() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return answered_; }
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return stop_ || (request_ != nullptr && !answered_);
  }

  void Main() {
    // Signals of the launcher are for its other threads.
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    absl::Status placed;
    std::string tid = absl::StrCat(syscall(SYS_gettid));
    for (const std::string& dir : dirs_) {
      placed = WriteControlFile(dir + "/tasks", tid);
      if (!placed.ok()) break;
    }
    absl::MutexLock lock(&mu_);
    placed_ = placed;
    placement_done_ = true;
    for (;;) {
      mu_.Await(absl::Condition(this, &PlacedThread::HasWork));
      if (stop_) return;
      result_ = (*request_)();
      answered_ = true;
    }
  }

  const std::vector<std::string> dirs_;
  absl::Mutex mu_;
  bool placement_done_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status placed_ ABSL_GUARDED_BY(mu_);
  const std::function<long()>* request_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool answered_ ABSL_GUARDED_BY(mu_) = false;
  long result_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

class CgroupV1 final : public SandboxCgroup {
 public:
  explicit CgroupV1(std::string name) : name_(std::move(name)) {}
  ~CgroupV1() override { Destroy().IgnoreError(); }

  // Creates the directories and starts the thread that moves itself into them.
  absl::Status Prepare() {
    static std::once_flag swept;
    for (const char* controller : {"memory", "pids", "cpu"}) {
      std::string base = absl::StrCat(kRoot, "/", controller);
      std::string own = OwnCgroupPath(controller);
      std::string parent = absl::StrCat(base, own == "/" ? "" : own);
      std::string dir = absl::StrCat(parent, "/", name_);
      parents_.push_back(parent);
      if (mkdir(dir.c_str(), 0755) != 0) return ErrnoError("mkdir", dir);
      dirs_.push_back(dir);
    }
    placed_thread_ = std::make_unique<PlacedThread>(dirs_);
    std::call_once(swept, [this] {
      for (const std::string& parent : parents_) SweepStaleCgroups(parent);
    });
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
      // +1: the parked launcher thread counts too.
      KURA_RETURN_IF_ERROR(
          WriteControlFile(dirs_[1] + "/pids.max", absl::StrCat(limits.pids() + 1)));
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

  absl::StatusOr<long> RunInside(const std::function<long()>& clone) override {
    return placed_thread_->Run(clone);
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
    placed_thread_.reset();  // leaves the cgroup as it exits
    absl::Status result;
    for (const std::string& dir : dirs_) {
      std::ifstream procs(dir + "/cgroup.procs");
      for (pid_t pid; procs >> pid;) {
        if (pid != getpid()) kill(pid, SIGKILL);
      }
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
  std::vector<std::string> parents_;
  std::vector<std::string> dirs_;  // memory, pids, cpu
  std::unique_ptr<PlacedThread> placed_thread_;
};

// Cgroups prepared ahead of the next Launch. Destroyed at exit so that none is left behind.
class PreparedPool {
 public:
  static PreparedPool& Get() {
    static const pid_t creator = getpid();
    static PreparedPool* pool = [] {
      auto* p = new PreparedPool;
      // Not in a forked child that calls exit(): the pool's threads exist only in the creator.
      std::atexit([] {
        if (getpid() != creator) return;
        DrainCgroupHousekeeping();  // a refill still queued would land after Clear
        Get().Clear();
      });
      return p;
    }();
    return *pool;
  }

  void SetTarget(int count) {
    absl::MutexLock lock(&mu_);
    target_ = count;
    while (static_cast<int>(ready_.size()) > target_) ready_.pop_back();
  }

  std::unique_ptr<CgroupV1> Take() {
    absl::MutexLock lock(&mu_);
    if (ready_.empty()) return nullptr;
    std::unique_ptr<CgroupV1> cgroup = std::move(ready_.front());
    ready_.pop_front();
    return cgroup;
  }

  // Tops the pool up; the new cgroups' threads move themselves in in the background.
  void Refill(const std::function<std::string()>& next_name) {
    absl::MutexLock lock(&mu_);
    while (static_cast<int>(ready_.size()) < target_) {
      auto cgroup = std::make_unique<CgroupV1>(next_name());
      absl::Status prepared = cgroup->Prepare();
      if (!prepared.ok()) {
        KURA_LOG(Warning) << "preparing a sandbox cgroup: " << prepared;
        return;
      }
      ready_.push_back(std::move(cgroup));
    }
  }

  void Clear() {
    absl::MutexLock lock(&mu_);
    ready_.clear();
  }

 private:
  absl::Mutex mu_;
  int target_ ABSL_GUARDED_BY(mu_) = 2;
  std::deque<std::unique_ptr<CgroupV1>> ready_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

void SetPreparedCgroups(int count) { PreparedPool::Get().SetTarget(count); }

absl::StatusOr<std::unique_ptr<SandboxCgroup>> CreateCgroupV1(const std::string& name,
                                                              const v1::Limits& limits) {
  PreparedPool& pool = PreparedPool::Get();
  std::unique_ptr<CgroupV1> cgroup = pool.Take();
  if (cgroup == nullptr) {
    cgroup = std::make_unique<CgroupV1>(name);
    KURA_RETURN_IF_ERROR(cgroup->Prepare());
  }
  KURA_RETURN_IF_ERROR(cgroup->Limit(limits));
  RunCgroupHousekeeping([name] {
    PreparedPool::Get().Refill(
        [&name, n = 0]() mutable { return absl::StrCat(name, "-next", n++); });
  });
  return cgroup;
}

}  // namespace kura::sandbox
