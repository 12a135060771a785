// kura_hostile: the hostile battery's workload. Each subcommand tries exactly one way out of the
// sandbox and says what happened:
//
//   kura_hostile list          one line per attempt: NAME<TAB>ARGUMENT-KIND
//   kura_hostile NAME [ARG]    prints "CONTAINED: <what stopped it>" and exits 0, or
//                              "ESCAPED: <what worked>" and exits 66
//
// Argument kinds tell the test what to pass: none, tcp_port, udp_port, host_path (a host file
// that must stay invisible), data_file (a file on the read-only /data mount), fd (a descriptor
// the launcher held), env (an environment variable the launcher had), suid_file (a setuid-root
// copy of this program).

#include <dirent.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/keyctl.h>
#include <linux/reboot.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

constexpr int kEscapedExit = 66;

struct Verdict {
  bool contained;
  std::string detail;
};

Verdict Contained(std::string detail) { return {true, std::move(detail)}; }
Verdict Escaped(std::string detail) { return {false, std::move(detail)}; }

std::string Err(const char* call, int error) {
  return std::string(call) + ": " + strerrorname_np(error);
}

// A refused call: contained when it failed, escaped when it worked.
Verdict MustFail(const char* call, long result) {
  if (result < 0) return Contained(Err(call, errno));
  return Escaped(std::string(call) + " succeeded");
}

// A refused call that must fail with EPERM: another errno means the call got past the filter
// and the kernel looked at its arguments.
Verdict MustBeDenied(const char* call, long result) {
  if (result >= 0) return Escaped(std::string(call) + " succeeded");
  if (errno != EPERM) return Escaped(Err(call, errno) + " (reached the kernel, not EPERM)");
  return Contained(Err(call, errno));
}

// A directory the workload may write in (for symlinks, FIFOs, chroot targets).
std::string WritableDir() {
  for (const char* dir : {"/outputs", "/tmp"}) {
    std::string probe = std::string(dir) + "/.kura-hostile-probe";
    if (mkdir(probe.c_str(), 0700) == 0 || errno == EEXIST) return probe;
  }
  return "";
}

// ---- the mount tree --------------------------------------------------------------------------

Verdict WriteReadOnlyMount(const char* data_file) {
  const int fd = open(data_file, O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd >= 0) {
    const bool wrote = write(fd, "x", 1) == 1;
    close(fd);
    if (wrote) return Escaped(std::string("appended to ") + data_file);
  }
  const int saved = errno;
  std::string created = std::string(data_file) + ".kura-hostile";
  const int nfd = open(created.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (nfd >= 0) return Escaped("created " + created);
  return Contained(Err("open(data, O_WRONLY)", saved) + ", " + Err("open(O_CREAT)", errno));
}

Verdict WriteRootfs(const char*) {
  for (const char* path : {"/kura-hostile", "/usr/kura-hostile", "/etc/kura-hostile",
                           "/usr/bin/kura-hostile", "/opt/kura-test/kura-hostile"}) {
    const int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) return Escaped(std::string("created ") + path);
    if (errno != EROFS && errno != EACCES && errno != EPERM && errno != ENOENT) {
      return Escaped(Err(path, errno) + " (unexpected)");
    }
  }
  return Contained("every path refused: " + Err("open", errno));
}

Verdict Mount(const char*) {
  return MustFail("mount(tmpfs, /)", mount("none", "/", "tmpfs", 0, nullptr));
}

Verdict RemountDataWritable(const char*) {
  return MustFail("mount(/data, MS_REMOUNT|MS_BIND)",
                  mount(nullptr, "/data", nullptr, MS_REMOUNT | MS_BIND, nullptr));
}

Verdict Umount(const char*) {
  // Detaching /data would reveal whatever the sandbox's root has beneath it.
  return MustFail("umount2(/data, MNT_DETACH)", umount2("/data", MNT_DETACH));
}

Verdict PivotRoot(const char*) {
  if (chdir("/") != 0) return Contained(Err("chdir(/)", errno));
  return MustFail("pivot_root(., .)", syscall(SYS_pivot_root, ".", "."));
}

Verdict NewMountApi(const char*) {
  const long fs = syscall(SYS_fsopen, "tmpfs", 0);
  if (fs >= 0) return Escaped("fsopen(tmpfs) succeeded");
  const int fsopen_errno = errno;
  const long tree = syscall(SYS_open_tree, AT_FDCWD, "/data", 1 /*OPEN_TREE_CLONE*/);
  if (tree >= 0) return Escaped("open_tree(/data, OPEN_TREE_CLONE) succeeded");
  return Contained(Err("fsopen", fsopen_errno) + ", " + Err("open_tree", errno));
}

// The classic escape: chroot into a subdirectory while keeping the cwd outside it, then walk up.
Verdict ChrootEscape(const char* host_path) {
  const std::string dir = WritableDir();
  if (dir.empty()) return Contained("no writable directory to chroot into");
  if (chroot(dir.c_str()) != 0) return Contained(Err("chroot", errno));
  for (int i = 0; i < 64; ++i) {
    if (chdir("..") != 0) break;
  }
  if (chroot(".") != 0) return Contained("first chroot worked, " + Err("chroot(.)", errno));
  if (access(host_path, F_OK) == 0) return Escaped(std::string("sees host file ") + host_path);
  return Contained("chroot allowed but the host stayed invisible");
}

// ---- namespaces and other processes -----------------------------------------------------------

Verdict UnshareUserNs(const char*) {
  return MustFail("unshare(CLONE_NEWUSER)", unshare(CLONE_NEWUSER));
}

Verdict CloneUserNs(const char*) {
  const long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid(static_cast<pid_t>(pid), nullptr, 0);
  return MustFail("clone(CLONE_NEWUSER)", pid);
}

// clone3 carries its flags in memory, out of a filter's sight: it must not be a way around the
// checked flags of clone.
Verdict Clone3UserNs(const char*) {
  struct {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
  } args = {CLONE_NEWUSER, 0, 0, 0, SIGCHLD, 0, 0, 0};
  const long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid(static_cast<pid_t>(pid), nullptr, 0);
  return MustFail("clone3(CLONE_NEWUSER)", pid);
}

// A listener of its own would let the workload answer (and so allow) its own refused calls.
Verdict SeccompOwnListener(const char*) {
  // The filter itself allows everything, so that should it be accepted nothing here hangs.
  sock_filter allow_all = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  sock_fprog prog{1, &allow_all};
  return MustFail("seccomp(NEW_LISTENER)", syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                                                   SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog));
}

Verdict PtraceTraceme(const char*) {
  return MustFail("ptrace(PTRACE_TRACEME)", syscall(SYS_ptrace, 0, 0, 0, 0));
}

Verdict PtraceAttachSibling(const char*) {
  const pid_t sibling = fork();
  if (sibling == 0) {
    pause();
    _exit(0);
  }
  if (sibling < 0) return Contained(Err("fork", errno));
  const long attached = syscall(SYS_ptrace, 16 /*PTRACE_ATTACH*/, sibling, 0, 0);
  const int saved = errno;
  kill(sibling, SIGKILL);
  waitpid(sibling, nullptr, 0);
  errno = saved;
  Verdict v = MustFail("ptrace(PTRACE_ATTACH, sibling)", attached);
  if (!v.contained) return v;
  // And the sandbox's init, which holds more than the workload.
  return MustFail("ptrace(PTRACE_ATTACH, 1)", syscall(SYS_ptrace, 16, 1, 0, 0)).contained
             ? Contained(v.detail + "; PID 1 also refused")
             : Escaped("ptrace attached to PID 1");
}

Verdict ProcessVmReadv(const char*) {
  char buf[8];
  iovec local{buf, sizeof buf};
  iovec remote{reinterpret_cast<void*>(0x400000), sizeof buf};
  return MustBeDenied("process_vm_readv(1)",
                      syscall(SYS_process_vm_readv, 1, &local, 1, &remote, 1, 0));
}

// ---- the host's files
// ----------------------------------------------------------------------------

bool Readable(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char c;
  const bool ok = read(fd, &c, 1) >= 0;
  close(fd);
  return ok;
}

Verdict ProcRoot(const char* host_path) {
  std::vector<std::string> tries = {std::string("/proc/1/root") + host_path,
                                    std::string("/proc/self/root/..") + host_path,
                                    std::string("/proc/self/cwd/../../..") + host_path};
  if (DIR* proc = opendir("/proc")) {
    while (dirent* e = readdir(proc)) {
      if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
      tries.push_back(std::string("/proc/") + e->d_name + "/root" + host_path);
      tries.push_back(std::string("/proc/") + e->d_name + "/cwd/" + host_path);
    }
    closedir(proc);
  }
  for (const std::string& path : tries) {
    if (Readable(path)) return Escaped("read " + path);
  }
  return Contained("none of " + std::to_string(tries.size()) + " /proc paths reach " + host_path);
}

Verdict LauncherVisible(const char*) {
  DIR* proc = opendir("/proc");
  if (proc == nullptr) return Contained(Err("opendir(/proc)", errno));
  int seen = 0;
  std::string found;
  while (dirent* e = readdir(proc)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    ++seen;
    for (const char* file : {"cmdline", "comm", "environ"}) {
      char buf[4096] = {};
      const std::string path = std::string("/proc/") + e->d_name + "/" + file;
      const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;
      const ssize_t n = read(fd, buf, sizeof buf - 1);
      close(fd);
      for (ssize_t i = 0; i < n; ++i) {
        if (buf[i] == '\0') buf[i] = ' ';
      }
      // The launcher's name, or a host path of the battery's bind sources.
      if (strstr(buf, "kura-sandbox") != nullptr || strstr(buf, "sandbox_test") != nullptr ||
          strstr(buf, "kura-hostile-") != nullptr) {
        found = std::string(e->d_name) + "/" + file + ": " + buf;
      }
    }
  }
  closedir(proc);
  if (!found.empty()) return Escaped("launcher visible in /proc: " + found);
  return Contained(std::to_string(seen) + " processes visible, none of the launcher's");
}

Verdict DotDot(const char* host_path) {
  std::string up;
  for (int i = 0; i < 32; ++i) up += "../";
  if (chdir("/data") == 0 && Readable(up + host_path)) return Escaped("read ../" + up + host_path);
  if (Readable(std::string("/..") + host_path)) return Escaped(std::string("read /..") + host_path);
  if (Readable(std::string("/data/../../..") + host_path)) return Escaped("read via /data/..");
  return Contained(std::string(host_path) + " unreachable through ..");
}

Verdict Symlink(const char* host_path) {
  const std::string dir = WritableDir();
  if (dir.empty()) return Contained("no writable directory for a symlink");
  const std::string link1 = dir + "/to-host", link2 = dir + "/to-proc";
  unlink(link1.c_str());
  unlink(link2.c_str());
  if (symlink(host_path, link1.c_str()) == 0 && Readable(link1)) {
    return Escaped("symlink to " + std::string(host_path) + " readable");
  }
  const std::string via_proc = std::string("/proc/1/root/../../..") + host_path;
  if (symlink(via_proc.c_str(), link2.c_str()) == 0 && Readable(link2)) {
    return Escaped("symlink through /proc/1/root readable");
  }
  return Contained("symlinks resolve inside the sandbox: " + Err("open", errno));
}

// "Shocker": a file handle opens any inode of the filesystem behind a mount, whatever the mount
// tree shows.
Verdict OpenByHandle(const char*) {
  struct {
    unsigned int handle_bytes;
    int handle_type;
    unsigned char f_handle[128];
  } handle = {128, 0, {}};
  int mount_id = 0;
  const long named = syscall(SYS_name_to_handle_at, AT_FDCWD, "/", &handle, &mount_id, 0);
  const int named_errno = errno;
  const long opened = syscall(SYS_open_by_handle_at, AT_FDCWD, &handle, O_RDONLY);
  if (opened >= 0) return Escaped("open_by_handle_at succeeded");
  return Contained(Err("name_to_handle_at", named < 0 ? named_errno : 0) + ", " +
                   Err("open_by_handle_at", errno));
}

Verdict ReadShadow(const char*) {
  for (const char* path : {"/etc/shadow", "/etc/gshadow", "/root/.bash_history", "/etc/sudoers"}) {
    if (Readable(path)) return Escaped(std::string("read ") + path);
  }
  return Contained("/etc/shadow: " + std::string(strerrorname_np(errno)));
}

Verdict DevNodesAbsent(const char*) {
  for (const char* path : {"/dev/mem", "/dev/kmem", "/dev/port", "/dev/kmsg", "/dev/sda",
                           "/dev/nvme0n1", "/dev/vda", "/dev/loop0", "/dev/fuse"}) {
    struct stat st;
    if (stat(path, &st) == 0) return Escaped(std::string(path) + " exists");
  }
  return Contained("no /dev/mem, /dev/kmsg or disk nodes");
}

Verdict SysAbsent(const char*) {
  for (const char* path : {"/sys/kernel", "/sys/fs/cgroup", "/sys/class", "/sys/firmware"}) {
    if (access(path, F_OK) == 0) return Escaped(std::string(path) + " is visible");
  }
  return Contained("/sys is not mounted");
}

Verdict ProcKernelInterfaces(const char*) {
  const int fd = open("/proc/sysrq-trigger", O_WRONLY | O_CLOEXEC);
  if (fd >= 0) {
    const bool wrote = write(fd, "h", 1) == 1;  // 'h' only prints help, should it ever work
    close(fd);
    if (wrote) return Escaped("wrote /proc/sysrq-trigger");
  }
  if (Readable("/proc/kcore")) return Escaped("read /proc/kcore");
  // Host-wide settings: opening for writing is already too much (nothing is written).
  for (const char* path :
       {"/proc/sys/kernel/core_pattern", "/proc/sys/vm/drop_caches", "/proc/sys/kernel/modprobe"}) {
    const int sys = open(path, O_WRONLY | O_CLOEXEC);
    if (sys >= 0) {
      close(sys);
      return Escaped(std::string(path) + " is writable");
    }
  }
  return Contained("sysrq-trigger, kcore and /proc/sys refused");
}

// ---- the network
// ---------------------------------------------------------------------------------

Verdict Tcp(const char* port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Contained(Err("socket(AF_INET)", errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(atoi(port)));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    return Escaped(std::string("connected to 127.0.0.1:") + port);
  }
  return Contained("socket worked (sandbox loopback), " + Err("connect", errno));
}

Verdict Udp(const char* port) {
  const int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Contained(Err("socket(AF_INET, SOCK_DGRAM)", errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(atoi(port)));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  // On a loopback with nobody listening, a connected UDP socket learns "port unreachable" at
  // once; a datagram that left for the host's listener gets no such answer.
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return Contained(Err("connect(udp)", errno));
  }
  if (send(fd, "kura", 4, 0) != 4) return Contained(Err("send", errno));
  pollfd pfd{fd, POLLIN, 0};
  poll(&pfd, 1, 2000);
  char buf[8];
  if (recv(fd, buf, sizeof buf, MSG_DONTWAIT) < 0 && errno == ECONNREFUSED) {
    return Contained("socket worked (sandbox loopback), port unreachable there");
  }
  return Escaped(std::string("datagram to 127.0.0.1:") + port + " was not refused");
}

Verdict SocketFamily(int family, int type, const char* what) {
  const int fd = socket(family, type | SOCK_CLOEXEC, 0);
  if (fd >= 0) return Escaped(std::string("socket(") + what + ") created");
  return Contained(Err((std::string("socket(") + what + ")").c_str(), errno));
}

Verdict Netlink(const char*) { return SocketFamily(AF_NETLINK, SOCK_RAW, "AF_NETLINK"); }
Verdict Packet(const char*) { return SocketFamily(AF_PACKET, SOCK_RAW, "AF_PACKET"); }
Verdict Vsock(const char*) { return SocketFamily(AF_VSOCK, SOCK_STREAM, "AF_VSOCK"); }
Verdict Inet(const char*) { return SocketFamily(AF_INET, SOCK_DGRAM, "AF_INET"); }
Verdict Inet6(const char*) { return SocketFamily(AF_INET6, SOCK_STREAM, "AF_INET6"); }

// ---- terminals --------------------------------------------------------------------------------

// Pushes a byte into the input of a terminal: the sandbox's own fresh pty (a real tty, where the
// kernel would accept it) and whatever fds 0-2 are.
Verdict TerminalIoctl(unsigned long cmd, const char* what) {
  std::vector<int> fds = {0, 1, 2};
  int master = -1, slave = -1;
  if (openpty(&master, &slave, nullptr, nullptr, nullptr) == 0) fds.push_back(slave);
  std::string details;
  char c = 'x';
  for (int fd : fds) {
    const long r = syscall(SYS_ioctl, fd, cmd, &c);
    if (r == 0) return Escaped(std::string(what) + " accepted on fd " + std::to_string(fd));
    if (errno != EPERM) {
      // ENOTTY/EIO mean the kernel, not the filter, refused: the filter must stop it first.
      return Escaped(std::string(what) + " reached the kernel on fd " + std::to_string(fd) + ": " +
                     strerrorname_np(errno));
    }
  }
  return Contained(std::string(what) + ": EPERM on " + std::to_string(fds.size()) + " fds" +
                   (slave >= 0 ? " including a fresh pty" : ""));
}

Verdict Tiocsti(const char*) { return TerminalIoctl(TIOCSTI, "TIOCSTI"); }
Verdict TiocstiHighBits(const char*) {
  return TerminalIoctl(0x100000000ul | TIOCSTI, "TIOCSTI|1<<32");
}
Verdict Tioclinux(const char*) { return TerminalIoctl(TIOCLINUX, "TIOCLINUX"); }

// ---- the kernel ---------------------------------------------------------------------------------

Verdict Bpf(const char*) { return MustBeDenied("bpf", syscall(SYS_bpf, 0, nullptr, 0)); }

Verdict PerfEventOpen(const char*) {
  char attr[128] = {};  // PERF_TYPE_HARDWARE, cycles
  *reinterpret_cast<uint32_t*>(attr + 4) = sizeof attr;
  return MustBeDenied("perf_event_open", syscall(SYS_perf_event_open, attr, 0, -1, -1, 0));
}

Verdict Keyctl(const char*) {
  const long key = syscall(SYS_add_key, "user", "kura-hostile", "x", 1, KEY_SPEC_SESSION_KEYRING);
  if (key >= 0) return Escaped("add_key succeeded");
  if (errno != EPERM) return Escaped(Err("add_key", errno) + " (reached the kernel)");
  return MustBeDenied("keyctl(GET_KEYRING_ID)",
                      syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1));
}

Verdict Userfaultfd(const char*) {
  return MustBeDenied("userfaultfd", syscall(SYS_userfaultfd, O_CLOEXEC));
}

Verdict IoUring(const char*) {
  char params[120] = {};
  return MustBeDenied("io_uring_setup", syscall(SYS_io_uring_setup, 8, params));
}

Verdict Mknod(const char*) {
  const std::string dir = WritableDir();
  for (const std::string& path :
       {dir + "/null", std::string("/dev/kura-mem"), std::string("/tmp/kura-mem")}) {
    if (mknod(path.c_str(), S_IFCHR | 0666, makedev(1, 1)) == 0) {
      return Escaped("created character device " + path);
    }
  }
  return Contained(Err("mknod(S_IFCHR 1:1)", errno));
}

Verdict KernelModule(const char*) {
  const int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  Verdict v = MustBeDenied("finit_module", syscall(SYS_finit_module, fd, "", 0));
  if (!v.contained) return v;
  return MustBeDenied("init_module", syscall(SYS_init_module, "\0", 1, ""));
}

Verdict Kexec(const char*) {
  return MustBeDenied("kexec_load", syscall(SYS_kexec_load, 0, 0, nullptr, 0));
}

Verdict Reboot(const char*) {
  return MustBeDenied("reboot(CAD_OFF)",
                      syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2,
                              LINUX_REBOOT_CMD_CAD_OFF, nullptr));
}

Verdict ClockSettime(const char*) {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return MustBeDenied("clock_settime(CLOCK_REALTIME)",
                      syscall(SYS_clock_settime, CLOCK_REALTIME, &now));
}

// ---- privileges and secrets
// -----------------------------------------------------------------------

// Runs the setuid-root copy of this program, which reports its effective uid; with nosuid mounts
// and no_new_privs it must be ours.
Verdict SetuidGainsNothing(const char* suid_file) {
  struct stat st;
  if (stat(suid_file, &st) != 0) return Escaped(Err("stat(setuid copy)", errno) + " (test setup)");
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return Escaped(Err("pipe2", errno));
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(pipefd[1], 1);
    execl(suid_file, suid_file, "print_euid", nullptr);
    _exit(127);
  }
  close(pipefd[1]);
  char buf[64] = {};
  const ssize_t n = read(pipefd[0], buf, sizeof buf - 1);
  int status = 0;
  waitpid(pid, &status, 0);
  if (n <= 0) return Contained("the setuid copy did not run (" + std::to_string(status) + ")");
  const long euid = strtol(buf, nullptr, 10);
  if (euid != static_cast<long>(geteuid())) {
    return Escaped("setuid copy ran with euid " + std::to_string(euid) + ", mine is " +
                   std::to_string(geteuid()));
  }
  char mode[16];
  snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
  return Contained(std::string("setuid copy (mode ") + mode + ") ran as euid " +
                   std::to_string(euid) + ", unchanged");
}

Verdict SecretFd(const char* fd_text) {
  const int fd = atoi(fd_text);
  if (fcntl(fd, F_GETFD) >= 0) {
    char buf[64] = {};
    const ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    return Escaped("fd " + std::string(fd_text) + " is open" +
                   (n > 0 ? ", read: " + std::string(buf) : ""));
  }
  return Contained("fd " + std::string(fd_text) + ": " + strerrorname_np(errno));
}

Verdict LeakedFds(const char*) {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return Contained(Err("opendir(/proc/self/fd)", errno));
  std::string extra;
  while (dirent* e = readdir(dir)) {
    const int fd = atoi(e->d_name);
    if (e->d_name[0] == '.' || fd <= 2 || fd == dirfd(dir)) continue;
    char target[256] = {};
    const std::string link = std::string("/proc/self/fd/") + e->d_name;
    readlink(link.c_str(), target, sizeof target - 1);
    extra += std::string(" ") + e->d_name + "->" + target;
  }
  closedir(dir);
  if (!extra.empty()) return Escaped("descriptors beyond stdio:" + extra);
  return Contained("only fds 0, 1, 2 are open");
}

Verdict SecretEnv(const char* name) {
  if (const char* value = getenv(name)) return Escaped(std::string(name) + "=" + value);
  for (const char* path : {"/proc/1/environ", "/proc/self/environ"}) {
    const int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    std::string env(65536, '\0');
    const ssize_t n = read(fd, env.data(), env.size());
    close(fd);
    if (n > 0 && env.find(name) != std::string::npos) {
      return Escaped(std::string(name) + " in " + path);
    }
  }
  return Contained(std::string(name) + " not in the environment of the workload or PID 1");
}

// ---- the table ---------------------------------------------------------------------------------

struct Attempt {
  const char* name;
  const char* arg_kind;
  Verdict (*run)(const char* arg);
};

constexpr Attempt kAttempts[] = {
    {"write_readonly_mount", "data_file", WriteReadOnlyMount},
    {"write_rootfs", "none", WriteRootfs},
    {"mount", "none", Mount},
    {"remount_data_writable", "none", RemountDataWritable},
    {"umount", "none", Umount},
    {"pivot_root", "none", PivotRoot},
    {"new_mount_api", "none", NewMountApi},
    {"chroot_escape", "host_path", ChrootEscape},
    {"userns_unshare", "none", UnshareUserNs},
    {"userns_clone", "none", CloneUserNs},
    {"userns_clone3", "none", Clone3UserNs},
    {"seccomp_own_listener", "none", SeccompOwnListener},
    {"ptrace_traceme", "none", PtraceTraceme},
    {"ptrace_attach", "none", PtraceAttachSibling},
    {"process_vm_readv", "none", ProcessVmReadv},
    {"proc_root", "host_path", ProcRoot},
    {"proc_launcher_visible", "none", LauncherVisible},
    {"proc_kernel_interfaces", "none", ProcKernelInterfaces},
    {"dotdot", "host_path", DotDot},
    {"symlink", "host_path", Symlink},
    {"tcp_host_loopback", "tcp_port", Tcp},
    {"udp_host_loopback", "udp_port", Udp},
    {"socket_netlink", "none", Netlink},
    {"socket_packet", "none", Packet},
    {"socket_vsock", "none", Vsock},
    {"socket_inet", "none", Inet},
    {"socket_inet6", "none", Inet6},
    {"tiocsti", "none", Tiocsti},
    {"tiocsti_high_bits", "none", TiocstiHighBits},
    {"tioclinux", "none", Tioclinux},
    {"bpf", "none", Bpf},
    {"perf_event_open", "none", PerfEventOpen},
    {"keyctl", "none", Keyctl},
    {"userfaultfd", "none", Userfaultfd},
    {"io_uring", "none", IoUring},
    {"mknod_char_device", "none", Mknod},
    {"setuid_binary", "suid_file", SetuidGainsNothing},
    {"secret_fd", "fd", SecretFd},
    {"leaked_fds", "none", LeakedFds},
    {"secret_env", "env", SecretEnv},
    {"open_by_handle", "none", OpenByHandle},
    {"read_shadow", "none", ReadShadow},
    {"kernel_module", "none", KernelModule},
    {"kexec", "none", Kexec},
    {"reboot", "none", Reboot},
    {"clock_settime", "none", ClockSettime},
    {"dev_mem_kmsg_absent", "none", DevNodesAbsent},
    {"sys_absent", "none", SysAbsent},
};

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && strcmp(argv[1], "list") == 0) {
    for (const Attempt& a : kAttempts) printf("%s\t%s\n", a.name, a.arg_kind);
    return 0;
  }
  // Helper for setuid_binary: what this process runs as.
  if (argc >= 2 && strcmp(argv[1], "print_euid") == 0) {
    printf("%u\n", geteuid());
    return 0;
  }
  if (argc < 2) {
    fprintf(stderr, "usage: %s list | NAME [ARG]\n", argv[0]);
    return 2;
  }
  for (const Attempt& a : kAttempts) {
    if (strcmp(argv[1], a.name) != 0) continue;
    if (strcmp(a.arg_kind, "none") != 0 && argc < 3) {
      fprintf(stderr, "%s needs an argument (%s)\n", a.name, a.arg_kind);
      return 2;
    }
    const Verdict v = a.run(argc >= 3 ? argv[2] : "");
    printf("%s: %s\n", v.contained ? "CONTAINED" : "ESCAPED", v.detail.c_str());
    fflush(stdout);
    return v.contained ? 0 : kEscapedExit;
  }
  fprintf(stderr, "unknown attempt %s\n", argv[1]);
  return 2;
}
