// Launch: prepares everything the sandbox's processes need (so that they never allocate),
// creates the cgroup, clones the sandbox's init into its new namespaces and answers its setup.
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <fstream>
#include <iterator>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status.h"
#include "sandbox/child_plan.h"
#include "sandbox/pty.h"
#include "sandbox/sandbox.h"
#include "sandbox/user.h"

namespace kura::sandbox {
namespace {

constexpr char kDefaultPath[] = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";
constexpr char kDefaultHostname[] = "kura";

// The full paths execve tries for argv[0]: itself when it has a slash, else each directory of
// the spec's PATH (or the default) — the sandbox's PATH, never the launcher's.
std::vector<std::string> ExecCandidates(const v1::SandboxSpec& spec) {
  const std::string& program = spec.argv(0);
  if (absl::StrContains(program, '/')) return {program};
  std::string path = kDefaultPath;
  for (const std::string& entry : spec.env()) {
    if (absl::StartsWith(entry, "PATH=")) path = entry.substr(5);
  }
  std::vector<std::string> candidates;
  for (absl::string_view dir : absl::StrSplit(path, ':', absl::SkipEmpty())) {
    candidates.push_back(absl::StrCat(dir, "/", program));
  }
  return candidates;
}

absl::Status FillExec(const v1::SandboxSpec& spec, ChildPlan* plan) {
  if (spec.argv().empty() || spec.argv(0).empty()) {
    return absl::InvalidArgumentError("spec.argv is empty: nothing to run");
  }
  for (const std::string& entry : spec.env()) {
    if (!absl::StrContains(entry, '=')) {
      return absl::InvalidArgumentError(absl::StrCat("env entry is not KEY=VALUE: ", entry));
    }
  }
  plan->exec_candidates = ExecCandidates(spec);
  plan->argv_storage.assign(spec.argv().begin(), spec.argv().end());
  plan->env_storage.assign(spec.env().begin(), spec.env().end());
  for (std::string& arg : plan->argv_storage) plan->argv.push_back(arg.data());
  plan->argv.push_back(nullptr);
  for (std::string& entry : plan->env_storage) plan->envp.push_back(entry.data());
  plan->envp.push_back(nullptr);
  plan->cwd = spec.cwd().empty() ? "/" : spec.cwd();
  if (plan->cwd[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat("cwd must be absolute: ", plan->cwd));
  }
  return absl::OkStatus();
}

// Where this process's argv and environment strings lie: fields 48 to 51 of /proc/self/stat
// (arg_start, arg_end, env_start, env_end). They never move, so they are read once.
absl::StatusOr<std::array<uintptr_t, 4>> ReadLauncherStrings() {
  std::ifstream in("/proc/self/stat");
  if (!in) return ErrnoError("open", "/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
  const size_t name_end = stat.rfind(')');
  if (name_end == std::string::npos || name_end + 2 > stat.size()) {
    return absl::InternalError("/proc/self/stat: no command name");
  }
  std::vector<std::string> fields = absl::StrSplit(stat.substr(name_end + 2), ' ');
  constexpr size_t kArgStart = 48 - 3;  // fields[0] is field 3
  if (fields.size() < kArgStart + 4) return absl::InternalError("/proc/self/stat: too short");
  std::array<uintptr_t, 4> bounds;
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!absl::SimpleAtoi(fields[kArgStart + i], &bounds[i])) {
      return absl::InternalError("/proc/self/stat: bad arg/env bounds");
    }
  }
  return bounds;
}

absl::Status FindLauncherStrings(ChildPlan* plan) {
  static const auto* const bounds =
      new absl::StatusOr<std::array<uintptr_t, 4>>(ReadLauncherStrings());
  if (!bounds->ok()) return bounds->status();
  plan->launcher_args_start = (**bounds)[0];
  plan->launcher_args_end = (**bounds)[1];
  plan->launcher_env_start = (**bounds)[2];
  plan->launcher_env_end = (**bounds)[3];
  return absl::OkStatus();
}

absl::StatusOr<ChildPlan> BuildChildPlan(const v1::SandboxSpec& spec) {
  ChildPlan plan;
  plan.uid = spec.uid() != 0 ? spec.uid() : kDefaultSandboxId;
  plan.gid = spec.gid() != 0 ? spec.gid() : kDefaultSandboxId;
  if (plan.uid > kMaxSandboxId || plan.gid > kMaxSandboxId) {
    return absl::InvalidArgumentError(
        absl::StrCat("uid/gid must be at most ", kMaxSandboxId, ": ", plan.uid, "/", plan.gid));
  }
  plan.hostname = spec.hostname().empty() ? kDefaultHostname : spec.hostname();
  if (plan.hostname.size() > 64) return absl::InvalidArgumentError("hostname longer than 64");
  v1::SandboxSpec with_hostname = spec;
  with_hostname.set_hostname(plan.hostname);
  KURA_ASSIGN_OR_RETURN(plan.mounts, BuildMountPlan(with_hostname, plan.uid, plan.gid));
  KURA_RETURN_IF_ERROR(FillExec(spec, &plan));
  if (spec.limits().nofile() > 0) plan.nofile = spec.limits().nofile();
  plan.file_size_bytes = spec.limits().file_size_bytes();
  KURA_ASSIGN_OR_RETURN(plan.seccomp, SeccompProgram::ForProfile(spec.seccomp_profile().empty()
                                                                     ? "analysis"
                                                                     : spec.seccomp_profile()));
  KURA_RETURN_IF_ERROR(FindLauncherStrings(&plan));
  return plan;
}

std::string NextCgroupName() {
  static std::atomic<uint64_t> counter{0};
  return absl::StrCat("kura-", getpid(), "-", counter.fetch_add(1));
}

// clone3 into every new namespace but the cgroup one (entered once in its cgroup), with a
// pidfd, born in the sandbox's cgroup (see SandboxCgroup::RunInside). The child runs
// ContainAndRun and never returns here.
absl::StatusOr<ChildProcess> CloneSandboxInit(const ChildPlan& plan, SandboxCgroup& cgroup) {
  int pidfd = -1;
  clone_args args{};
  args.flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
               CLONE_NEWUTS | CLONE_PIDFD;
  args.pidfd = reinterpret_cast<uint64_t>(&pidfd);
  args.exit_signal = SIGCHLD;
  if (cgroup.clone_fd() >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cgroup.clone_fd());
  }
  int clone_errno = 0;
  KURA_ASSIGN_OR_RETURN(long pid, cgroup.RunInside([&]() -> long {
    long child = syscall(SYS_clone3, &args, sizeof(args));
    if (child == 0) ContainAndRun(plan);
    clone_errno = errno;
    return child;
  }));
  if (pid < 0) return ErrnoError("clone3", "sandbox init", clone_errno);
  return ChildProcess(static_cast<pid_t>(pid), UniqueFd(pidfd));
}

}  // namespace

absl::StatusOr<Sandbox> Launch(const v1::SandboxSpec& spec, const StdioFds& stdio) {
  KURA_ASSIGN_OR_RETURN(ChildPlan plan, BuildChildPlan(spec));
  Sandbox sandbox;
  sandbox.start_ = absl::Now();
  if (spec.limits().wall_time_seconds() > 0) {
    sandbox.deadline_ = sandbox.start_ + absl::Seconds(spec.limits().wall_time_seconds());
  }
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) != 0) {
    return ErrnoError("socketpair", "setup socket");
  }
  sandbox.report_sock_ = UniqueFd(fds[0]);
  UniqueFd child_sock(fds[1]);
  plan.report_sock = child_sock.get();
  PtyPair pty;
  if (spec.tty()) {
    KURA_ASSIGN_OR_RETURN(pty, OpenPty(spec.terminal_size().rows(), spec.terminal_size().cols()));
    plan.tty_slave = pty.slave.get();
    sandbox.pty_master_ = std::move(pty.master);
  } else {
    plan.stdio[0] = stdio.in;
    plan.stdio[1] = stdio.out;
    plan.stdio[2] = stdio.err;
  }
  KURA_ASSIGN_OR_RETURN(sandbox.cgroup_, SandboxCgroup::Create(NextCgroupName(), spec.limits()));
  KURA_ASSIGN_OR_RETURN(sandbox.init_, CloneSandboxInit(plan, *sandbox.cgroup_));
  child_sock.Reset();
  pty.slave.Reset();
  KURA_RETURN_IF_ERROR(WriteIdMaps(sandbox.init_.pid(), plan.uid, plan.gid));
  const char go = 1;
  if (write(sandbox.report_sock_.get(), &go, 1) != 1) return ErrnoError("write", "setup socket");
  sandbox.ReadReports(/*block_until_ready=*/true);
  if (sandbox.failure_detail_ >= 0 &&
      static_cast<size_t>(sandbox.failure_detail_) < plan.mounts.ops.size()) {
    absl::StrAppend(&sandbox.failed_step_, " /", plan.mounts.ops[sandbox.failure_detail_].target);
  }
  return sandbox;
}

}  // namespace kura::sandbox
