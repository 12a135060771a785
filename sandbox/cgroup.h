#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kura/v1/sandbox.pb.h"

namespace kura::sandbox {

// The cgroup of one sandbox: memory (never any swap), pids and CPU limits, OOM accounting, and
// the kill switch for everything in it. cgroup v2 where /sys/fs/cgroup is a cgroup2 mount
// (cgroup_v2.cc), otherwise the v1 controllers under /sys/fs/cgroup/<controller>
// (cgroup_v1.cc). Removed (after killing what is left) when destroyed. Not thread-safe.
class SandboxCgroup {
 public:
  // Creates the cgroup `name` with `limits` (memory, cpus, pids). With v2 it lives under
  // $KURA_CGROUP_PARENT (a path relative to /sys/fs/cgroup, default "kura"); with v1 under the
  // launcher's own cgroup of each controller.
  static absl::StatusOr<std::unique_ptr<SandboxCgroup>> Create(const std::string& name,
                                                               const v1::Limits& limits);

  virtual ~SandboxCgroup() = default;

  // A directory fd for clone3(CLONE_INTO_CGROUP), or -1 when processes must be added with
  // AddProcess (v1).
  virtual int clone_fd() const = 0;
  // Moves `pid` (as seen by the launcher) into the cgroup.
  virtual absl::Status AddProcess(pid_t pid) = 0;
  // How many processes the kernel's OOM killer killed in the cgroup.
  virtual uint64_t OomKills() const = 0;
  // The most memory the cgroup used, 0 if unknown.
  virtual uint64_t PeakMemoryBytes() const = 0;
  // SIGKILLs every process left in the cgroup and removes it. Idempotent.
  virtual absl::Status Destroy() = 0;
};

// Reads a cgroup file and returns its "key N" value (memory.events, memory.oom_control), or 0.
uint64_t ReadKeyedCounter(const std::string& path, const std::string& key);
// Writes `value` to a cgroup control file; errors name the file.
absl::Status WriteControlFile(const std::string& path, const std::string& value);
// Removes a cgroup directory, retrying while the kernel finishes tearing down its last tasks.
absl::Status RemoveCgroupDir(const std::string& path);

// The v1 and v2 implementations, chosen by Create.
absl::StatusOr<std::unique_ptr<SandboxCgroup>> CreateCgroupV1(const std::string& name,
                                                              const v1::Limits& limits);
absl::StatusOr<std::unique_ptr<SandboxCgroup>> CreateCgroupV2(const std::string& name,
                                                              const v1::Limits& limits);

}  // namespace kura::sandbox
