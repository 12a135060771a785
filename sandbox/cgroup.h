#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
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

  // A directory fd for clone3(CLONE_INTO_CGROUP) (v2), or -1 (v1).
  virtual int clone_fd() const = 0;
  // Runs `clone` (which clones the sandbox's init) on a thread whose children are born in the
  // cgroup, and returns its result. v2: the calling thread (the child is placed by
  // CLONE_INTO_CGROUP). v1: a thread of the launcher that was moved into the cgroup beforehand
  // (see cgroup_v1.cc); it stays, parked, until the cgroup is destroyed, because the init's
  // death signal is tied to the thread that cloned it. Either way no process is migrated on the
  // start path (a migration waits for an RCU grace period, 10-20 ms).
  virtual absl::StatusOr<long> RunInside(const std::function<long()>& clone) = 0;
  // How many processes the kernel's OOM killer killed in the cgroup.
  virtual uint64_t OomKills() const = 0;
  // The most memory the cgroup used, 0 if unknown.
  virtual uint64_t PeakMemoryBytes() const = 0;
  // SIGKILLs every process left in the cgroup and removes it. Idempotent.
  virtual absl::Status Destroy() = 0;
};

// Destroys `cgroup` (kill what is left, remove it) on a background thread, off the caller's path;
// whatever is still queued at exit is done then. Thread-safe.
void DestroyCgroupLater(std::unique_ptr<SandboxCgroup> cgroup);

// Runs `work` on that same background thread (v1 uses it to prepare cgroups ahead). Thread-safe.
void RunCgroupHousekeeping(std::function<void()> work);

// Does everything queued for the background thread now and stops it; later work runs inline.
void DrainCgroupHousekeeping();

// Reads a cgroup file and returns its "key N" value (memory.events, memory.oom_control), or 0.
uint64_t ReadKeyedCounter(const std::string& path, const std::string& key);
// Writes `value` to a cgroup control file; errors name the file.
absl::Status WriteControlFile(const std::string& path, const std::string& value);
// Removes a cgroup directory, retrying while the kernel finishes tearing down its last tasks.
absl::Status RemoveCgroupDir(const std::string& path);

// How many v1 cgroups (each with its placed thread) a launcher keeps ready ahead of its next
// Launch, refilled in the background after each one. Default 1; a launcher that starts a single
// sandbox (kura-sandbox run) sets 0. Ignored with v2, which needs none. Thread-safe.
void SetPreparedCgroups(int count);

// The v1 and v2 implementations, chosen by Create.
absl::StatusOr<std::unique_ptr<SandboxCgroup>> CreateCgroupV1(const std::string& name,
                                                              const v1::Limits& limits);
absl::StatusOr<std::unique_ptr<SandboxCgroup>> CreateCgroupV2(const std::string& name,
                                                              const v1::Limits& limits);

}  // namespace kura::sandbox
