#include "sandbox/seccomp_profile.h"

#include <linux/personality.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>

namespace kura::sandbox {
namespace {

using Op = SeccompArgCheck::Op;

// The kernel reads int and unsigned int arguments from the low 32 bits of the register only, so
// a check on such an argument masks the high half away: 0x1_00000001 is AF_UNIX to socket(2).
constexpr uint64_t kLow32 = 0xffffffffu;

constexpr uint64_t kCloneNamespaceFlags = CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS |
                                          CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID |
                                          CLONE_NEWNET;

SeccompRule Allow(std::vector<std::string> syscalls) {
  return {SeccompAction::kAllow, 0, std::move(syscalls), {}};
}

SeccompRule Deny(std::vector<std::string> syscalls) {
  return {SeccompAction::kDeny, 0, std::move(syscalls), {}};
}

SeccompRule AllowIf(std::string syscall, SeccompArgCheck check) {
  return {SeccompAction::kAllow, 0, {std::move(syscall)}, {check}};
}

SeccompArgCheck Low32Is(unsigned index, uint64_t value) {
  return {index, Op::kMaskedEq, value, kLow32};
}

SeccompProfile BuildAnalysisProfile() {
  SeccompProfile p;
  p.name = "analysis";
  p.default_action = SeccompAction::kDeny;
  p.max_syscall = kAnalysisMaxSyscall;

  // Files, directories and descriptors. open_by_handle_at is absent: it opens any inode of a
  // mounted filesystem by handle, bypassing the mount tree (the "shocker" escape).
  p.rules.push_back(Allow(
      {"read", "write", "open", "close", "stat", "fstat", "lstat", "newfstatat", "statx", "lseek",
       "pread64", "pwrite64", "readv", "writev", "preadv", "pwritev", "preadv2", "pwritev2",
       "access", "faccessat", "faccessat2", "pipe", "pipe2", "dup", "dup2", "dup3", "fcntl",
       "flock", "fsync", "fdatasync", "syncfs", "sync", "sync_file_range", "truncate", "ftruncate",
       "fallocate", "fadvise64", "readahead", "getdents", "getdents64", "getcwd", "chdir", "fchdir",
       "rename", "renameat", "renameat2", "mkdir", "mkdirat", "rmdir", "creat", "link", "linkat",
       "unlink", "unlinkat", "symlink", "symlinkat", "readlink", "readlinkat", "chmod", "fchmod",
       "fchmodat", "fchmodat2", "chown", "fchown", "lchown", "fchownat", "umask", "utime", "utimes",
       "utimensat", "futimesat", "openat", "openat2", "close_range", "statfs", "fstatfs",
       "sendfile", "splice", "tee", "vmsplice", "copy_file_range", "setxattr", "lsetxattr",
       "fsetxattr", "getxattr", "lgetxattr", "fgetxattr", "listxattr", "llistxattr", "flistxattr",
       "removexattr", "lremovexattr", "fremovexattr", "inotify_init", "inotify_init1",
       "inotify_add_watch", "inotify_rm_watch", "select", "pselect6", "poll", "ppoll",
       "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2",
       "eventfd", "eventfd2", "signalfd", "signalfd4", "timerfd_create", "timerfd_settime",
       "timerfd_gettime", "memfd_create", "io_setup", "io_destroy", "io_getevents", "io_pgetevents",
       "io_submit", "io_cancel",
       // ioctl on any descriptor (CUDA drives the GPU through ioctl on /dev/nvidia*); the
       // filter's preamble refuses TIOCSTI and TIOCLINUX before these rules are reached.
       "ioctl"}));
  // mknod only for FIFOs, sockets and regular files (mkfifo); never device nodes.
  for (uint64_t type : {0u, static_cast<unsigned>(S_IFREG), static_cast<unsigned>(S_IFIFO),
                        static_cast<unsigned>(S_IFSOCK)}) {
    p.rules.push_back(AllowIf("mknod", {1, Op::kMaskedEq, type, S_IFMT}));
    p.rules.push_back(AllowIf("mknodat", {2, Op::kMaskedEq, type, S_IFMT}));
  }

  // Memory: allocators, JITs, BLAS, CUDA's unified memory, NUMA placement.
  p.rules.push_back(Allow({"brk",
                           "mmap",
                           "munmap",
                           "mremap",
                           "mprotect",
                           "pkey_mprotect",
                           "pkey_alloc",
                           "pkey_free",
                           "madvise",
                           "msync",
                           "mincore",
                           "mlock",
                           "mlock2",
                           "munlock",
                           "mlockall",
                           "munlockall",
                           "remap_file_pages",
                           "mbind",
                           "set_mempolicy",
                           "get_mempolicy",
                           "set_mempolicy_home_node",
                           "migrate_pages",
                           "move_pages",
                           "membarrier",
                           "map_shadow_stack"}));

  // Processes and threads. clone only without namespace flags; clone3 is answered ENOSYS below
  // (its flags live in memory a filter cannot read) so glibc falls back to clone.
  p.rules.push_back(Allow(
      {"fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4", "waitid", "kill",
       "tkill", "tgkill", "getpid", "getppid", "gettid", "getpgid", "setpgid", "getpgrp", "getsid",
       "setsid", "set_tid_address", "set_robust_list", "get_robust_list", "rseq", "restart_syscall",
       "arch_prctl", "prctl", "seccomp", "getrlimit", "setrlimit", "prlimit64", "getrusage",
       "getpriority", "setpriority", "sched_yield", "sched_setaffinity", "sched_getaffinity",
       "sched_setparam", "sched_getparam", "sched_setscheduler", "sched_getscheduler",
       "sched_setattr", "sched_getattr", "sched_get_priority_max", "sched_get_priority_min",
       "sched_rr_get_interval", "ioprio_get", "ioprio_set", "getcpu", "pidfd_open",
       "pidfd_send_signal", "capget", "capset", "set_thread_area", "get_thread_area",
       "landlock_create_ruleset", "landlock_add_rule", "landlock_restrict_self",
       // Identity changes inside the user namespace only ever shuffle the sandbox's own ids.
       "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups", "setuid",
       "setgid", "setreuid", "setregid", "setresuid", "setresgid", "setfsuid", "setfsgid",
       "setgroups"}));
  p.rules.push_back(AllowIf("clone", {0, Op::kMaskedEq, 0, kCloneNamespaceFlags}));
  p.rules.push_back({SeccompAction::kErrno, ENOSYS, {"clone3"}, {}});
  // personality: only the values libc and uname26 use; never ADDR_NO_RANDOMIZE or
  // READ_IMPLIES_EXEC.
  for (uint64_t persona : {0x0ul, 0x8ul, 0x20000ul, 0x20008ul, 0xfffffffful}) {
    p.rules.push_back(AllowIf("personality", Low32Is(0, persona)));
  }

  // Signals, time, futexes, IPC inside the sandbox's own IPC namespace.
  p.rules.push_back(Allow({"rt_sigaction",
                           "rt_sigprocmask",
                           "rt_sigreturn",
                           "rt_sigpending",
                           "rt_sigtimedwait",
                           "rt_sigqueueinfo",
                           "rt_tgsigqueueinfo",
                           "rt_sigsuspend",
                           "sigaltstack",
                           "pause",
                           "alarm",
                           "getitimer",
                           "setitimer",
                           "nanosleep",
                           "clock_nanosleep",
                           "clock_gettime",
                           "clock_getres",
                           "gettimeofday",
                           "time",
                           "times",
                           "timer_create",
                           "timer_settime",
                           "timer_gettime",
                           "timer_getoverrun",
                           "timer_delete",
                           "futex",
                           "futex_waitv",
                           "futex_wake",
                           "futex_wait",
                           "futex_requeue",
                           "uname",
                           "sysinfo",
                           "getrandom",
                           "shmget",
                           "shmat",
                           "shmdt",
                           "shmctl",
                           "semget",
                           "semop",
                           "semtimedop",
                           "semctl",
                           "msgget",
                           "msgsnd",
                           "msgrcv",
                           "msgctl",
                           "mq_open",
                           "mq_unlink",
                           "mq_timedsend",
                           "mq_timedreceive",
                           "mq_notify",
                           "mq_getsetattr",
                           "cachestat"}));

  // Sockets: only AF_UNIX may be created; the other calls act on descriptors that exist.
  p.rules.push_back(AllowIf("socket", Low32Is(0, AF_UNIX)));
  p.rules.push_back(AllowIf("socketpair", Low32Is(0, AF_UNIX)));
  p.rules.push_back(Allow({"connect", "accept", "accept4", "bind", "listen", "shutdown",
                           "getsockname", "getpeername", "setsockopt", "getsockopt", "sendto",
                           "recvfrom", "sendmsg", "recvmsg", "sendmmsg", "recvmmsg"}));

  // Refused and counted: what reaches the kernel, other processes, the mount tree or the
  // machine itself. Listed for readers and tests; the default refuses them already.
  p.rules.push_back(Deny({"mount",
                          "umount2",
                          "fsopen",
                          "fsconfig",
                          "fsmount",
                          "fspick",
                          "move_mount",
                          "open_tree",
                          "mount_setattr",
                          "pivot_root",
                          "chroot",
                          "unshare",
                          "setns",
                          "ptrace",
                          "process_vm_readv",
                          "process_vm_writev",
                          "process_madvise",
                          "process_mrelease",
                          "pidfd_getfd",
                          "kcmp",
                          "bpf",
                          "perf_event_open",
                          "keyctl",
                          "add_key",
                          "request_key",
                          "userfaultfd",
                          "io_uring_setup",
                          "io_uring_enter",
                          "io_uring_register",
                          "init_module",
                          "finit_module",
                          "delete_module",
                          "kexec_load",
                          "kexec_file_load",
                          "open_by_handle_at",
                          "name_to_handle_at",
                          "reboot",
                          "swapon",
                          "swapoff",
                          "clock_settime",
                          "clock_adjtime",
                          "settimeofday",
                          "adjtimex",
                          "acct",
                          "syslog",
                          "quotactl",
                          "quotactl_fd",
                          "lookup_dcookie",
                          "vhangup",
                          "nfsservctl",
                          "uselib",
                          "ustat",
                          "sysfs",
                          "_sysctl",
                          "iopl",
                          "ioperm",
                          "modify_ldt",
                          "fanotify_init",
                          "fanotify_mark",
                          "memfd_secret",
                          "sethostname",
                          "setdomainname"}));
  return p;
}

}  // namespace

const SeccompProfile& AnalysisProfile() {
  static const SeccompProfile* const profile = new SeccompProfile(BuildAnalysisProfile());
  return *profile;
}

}  // namespace kura::sandbox
