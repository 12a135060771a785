#include "sandbox/cgroup.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <deque>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/strings/numbers.h"
#include "absl/synchronization/mutex.h"
#include "common/logging.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace kura::sandbox {
namespace {

// One background thread for cgroup housekeeping. Thread-safe.
class Housekeeper {
 public:
  static Housekeeper& Get() {
    static const pid_t creator = getpid();
    static Housekeeper* housekeeper = [] {
      auto* h = new Housekeeper;
      // Not in a forked child that calls exit(): the thread exists only in the creator.
      std::atexit([] {
        if (getpid() == creator) Get().Drain();
      });
      return h;
    }();
    return *housekeeper;
  }

  void Post(std::function<void()> work) {
    {
      absl::MutexLock lock(&mu_);
      if (!stopped_) {
        queue_.push_back(std::move(work));
        if (!thread_.joinable()) thread_ = std::thread([this] { Main(); });
        return;
      }
    }
    work();
  }

  void Drain() {
    std::thread thread;
    {
      absl::MutexLock lock(&mu_);
      stopped_ = true;
      thread = std::move(thread_);
    }
    if (thread.joinable()) thread.join();
  }

 private:
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stopped_ || !queue_.empty(); }

  void Main() {
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, nullptr);
    for (;;) {
      std::function<void()> work;
      {
        absl::MutexLock lock(&mu_);
        mu_.Await(absl::Condition(this, &Housekeeper::HasWork));
        if (queue_.empty()) return;  // stopped and drained
        work = std::move(queue_.front());
        queue_.pop_front();
      }
      work();
    }
  }

  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

void DestroyCgroupLater(std::unique_ptr<SandboxCgroup> cgroup) {
  if (cgroup == nullptr) return;
  std::shared_ptr<SandboxCgroup> shared(std::move(cgroup));
  Housekeeper::Get().Post([shared] {
    absl::Status removed = shared->Destroy();
    if (!removed.ok()) {
      KURA_LOG(Warning) << "sandbox cgroup: " << removed;
    }
  });
}

void RunCgroupHousekeeping(std::function<void()> work) { Housekeeper::Get().Post(std::move(work)); }

void DrainCgroupHousekeeping() { Housekeeper::Get().Drain(); }

absl::StatusOr<std::unique_ptr<SandboxCgroup>> SandboxCgroup::Create(const std::string& name,
                                                                     const v1::Limits& limits) {
  struct statfs fs;
  if (statfs("/sys/fs/cgroup", &fs) != 0) return ErrnoError("statfs", "/sys/fs/cgroup");
  if (fs.f_type == CGROUP2_SUPER_MAGIC) return CreateCgroupV2(name, limits);
  return CreateCgroupV1(name, limits);
}

uint64_t ReadKeyedCounter(const std::string& path, const std::string& key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name;
    uint64_t value = 0;
    if (fields >> name >> value && name == key) return value;
  }
  return 0;
}

absl::Status WriteControlFile(const std::string& path, const std::string& value) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return ErrnoError("open", path);
  if (write(fd.get(), value.data(), value.size()) != static_cast<ssize_t>(value.size())) {
    return ErrnoError("write", path);
  }
  return absl::OkStatus();
}

absl::Status RemoveCgroupDir(const std::string& path) {
  // Tasks leave their cgroup a moment after they are reaped; EBUSY until then.
  for (int attempt = 0; attempt < 500; ++attempt) {
    if (rmdir(path.c_str()) == 0 || errno == ENOENT) return absl::OkStatus();
    if (errno != EBUSY) break;
    timespec pause{0, 2'000'000};
    nanosleep(&pause, nullptr);
  }
  return ErrnoError("rmdir", path);
}

}  // namespace kura::sandbox
