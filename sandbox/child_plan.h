#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sandbox/mounts.h"
#include "sandbox/seccomp.h"

namespace kura::sandbox {

// Everything the sandbox's processes need between clone and execve, prepared by the launcher so
// that the child only reads memory and makes system calls (it must not allocate: another thread
// of the launcher may have held the allocator's lock at clone time). Not thread-safe.
struct ChildPlan {
  int report_sock = -1;         // child end of the setup socket
  int stdio[3] = {-1, -1, -1};  // dup2'ed to 0, 1, 2 in the workload; -1 keeps the launcher's
  int tty_slave = -1;           // with --tty: becomes the controlling terminal and stdio

  uint32_t uid = 0;
  uint32_t gid = 0;
  std::string hostname;
  MountPlan mounts;

  uint64_t nofile = 1024;
  uint64_t file_size_bytes = 0;  // 0: unlimited

  std::string cwd = "/";
  std::vector<std::string> exec_candidates;  // full paths tried in order (PATH search)
  std::vector<std::string> argv_storage;
  std::vector<std::string> env_storage;
  std::vector<char*> argv;  // null-terminated, pointing into argv_storage
  std::vector<char*> envp;  // null-terminated, pointing into env_storage

  std::shared_ptr<const SeccompProgram> seccomp;  // null: no filter

  // Where the launcher's argv and environment strings lie ([start, end) as /proc/self/stat
  // gives them). The init is a copy of the launcher and its /proc/1/cmdline is readable inside
  // the sandbox, so it overwrites them: the host paths and secrets they hold must not show.
  uintptr_t launcher_args_start = 0;
  uintptr_t launcher_args_end = 0;
  uintptr_t launcher_env_start = 0;
  uintptr_t launcher_env_end = 0;
};

// Runs in the child of clone3 as PID 1 of the new PID namespace: carries out the setup steps in
// order, forks the workload and supervises it. Never returns; on a failed step it reports
// {step, errno} on plan.report_sock and _exits.
[[noreturn]] void ContainAndRun(const ChildPlan& plan) noexcept;

}  // namespace kura::sandbox
