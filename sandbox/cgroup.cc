#include "sandbox/cgroup.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace kura::sandbox {

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
