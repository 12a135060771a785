// kura-workspace-init: the workload of a workspace's sandbox. It starts the researcher's shells
// and jobs on request of the workspace's supervisor, which connects to its socket through the
// directory bound from the host at kCtlDir.
//
// Each connection asks for one process:
//   ["spawn", "pty"|"pipe", rows, cols, cwd, n_env, env..., argv...]
// and gets ["ok", pid] with the process's PTY master (pty) or its stdin, stdout and stderr
// pipe ends (pipe) attached, or ["error", message]; then ["exit", code] when it ends (the shell
// convention, 128+N for a signal). Closing the connection before that kills the process group.
//
// Threat note: the researcher's own code runs in the same sandbox and can connect here too; all
// it can get is more processes in this sandbox, which it could fork itself anyway.
//
// Single-threaded: one poll loop over the listener, the connections and a signalfd for SIGCHLD.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "node/wire.h"

namespace {

using kura::UniqueFd;
using kura::node::Record;

constexpr char kDefaultSocket[] = "/.kura/init.sock";

struct Child {
  pid_t pid = -1;
  UniqueFd conn;  // the requester, told the exit status
};

std::vector<std::string> DefaultShell() {
  if (::access("/bin/bash", X_OK) == 0) return {"/bin/bash", "--login"};
  return {"/bin/sh", "-l"};
}

// Between fork and exec: this process is single-threaded, so the child may use the heap, but
// it keeps to plain calls and reports failure by exit code 127 like a shell.
[[noreturn]] void ExecChild(const std::vector<std::string>& argv,
                            const std::vector<std::string>& env, const std::string& cwd) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGCHLD, SIG_DFL);
  signal(SIGPIPE, SIG_DFL);
  for (const std::string& e : env) ::putenv(const_cast<char*>(e.c_str()));
  if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
    std::fprintf(stderr, "kura: cannot enter %s: %s\n", cwd.c_str(), std::strerror(errno));
    _exit(127);
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  ::execvp(args[0], args.data());
  std::fprintf(stderr, "kura: cannot run %s: %s\n", args[0], std::strerror(errno));
  _exit(127);
}

// Starts the requested process; returns its pid and the descriptors to hand back, or an error
// message.
std::string Spawn(const Record& request, pid_t* pid, std::vector<UniqueFd>* fds) {
  if (request.fields.size() < 6) return "malformed spawn request";
  bool pty = request.field(1) == "pty";
  unsigned rows = std::strtoul(request.field(2).c_str(), nullptr, 10);
  unsigned cols = std::strtoul(request.field(3).c_str(), nullptr, 10);
  std::string cwd = request.field(4);
  size_t n_env = std::strtoul(request.field(5).c_str(), nullptr, 10);
  if (6 + n_env > request.fields.size()) return "malformed spawn request";
  std::vector<std::string> env(request.fields.begin() + 6, request.fields.begin() + 6 + n_env);
  std::vector<std::string> argv(request.fields.begin() + 6 + n_env, request.fields.end());
  if (argv.empty()) argv = DefaultShell();

  if (pty) {
    UniqueFd master(::posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!master) return std::string("posix_openpt: ") + std::strerror(errno);
    char name[128];
    if (::grantpt(master.get()) != 0 || ::unlockpt(master.get()) != 0 ||
        ::ptsname_r(master.get(), name, sizeof(name)) != 0) {
      return std::string("unlockpt: ") + std::strerror(errno);
    }
    winsize ws{};
    ws.ws_row = rows ? rows : 24;
    ws.ws_col = cols ? cols : 80;
    ::ioctl(master.get(), TIOCSWINSZ, &ws);
    pid_t child = ::fork();
    if (child < 0) return std::string("fork: ") + std::strerror(errno);
    if (child == 0) {
      ::setsid();
      int slave = ::open(name, O_RDWR);
      if (slave < 0 || ::ioctl(slave, TIOCSCTTY, 0) != 0) _exit(127);
      ::dup2(slave, 0);
      ::dup2(slave, 1);
      ::dup2(slave, 2);
      if (slave > 2) ::close(slave);
      ExecChild(argv, env, cwd);
    }
    *pid = child;
    fds->push_back(std::move(master));
    return "";
  }

  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return std::string("pipe2: ") + std::strerror(errno);
  UniqueFd in_r(in[0]), in_w(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) return std::string("pipe2: ") + std::strerror(errno);
  UniqueFd out_r(out[0]), out_w(out[1]);
  if (::pipe2(err, O_CLOEXEC) != 0) return std::string("pipe2: ") + std::strerror(errno);
  UniqueFd err_r(err[0]), err_w(err[1]);
  pid_t child = ::fork();
  if (child < 0) return std::string("fork: ") + std::strerror(errno);
  if (child == 0) {
    ::setsid();
    ::dup2(in_r.get(), 0);
    ::dup2(out_w.get(), 1);
    ::dup2(err_w.get(), 2);
    ExecChild(argv, env, cwd);
  }
  *pid = child;
  fds->push_back(std::move(in_w));
  fds->push_back(std::move(out_r));
  fds->push_back(std::move(err_r));
  return "";
}

int ShellCode(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 255;
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket_path = argc > 1 ? argv[1] : kDefaultSocket;
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);
  UniqueFd sigfd(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  UniqueFd listener = kura::node::ListenSeqpacket(socket_path, 0600);
  if (!sigfd || !listener) {
    std::fprintf(stderr, "kura-workspace-init: listen %s: %s\n", socket_path.c_str(),
                 std::strerror(errno));
    return 1;
  }

  std::vector<UniqueFd> pending;  // connections that have not sent their request yet
  std::map<pid_t, Child> children;
  while (true) {
    std::vector<pollfd> pfds{{listener.get(), POLLIN, 0}, {sigfd.get(), POLLIN, 0}};
    for (const UniqueFd& p : pending) pfds.push_back({p.get(), POLLIN, 0});
    std::vector<pid_t> order;
    for (const auto& [pid, c] : children) {
      pfds.push_back({c.conn.get(), POLLIN, 0});
      order.push_back(pid);
    }
    if (::poll(pfds.data(), pfds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      return 1;
    }
    if (pfds[1].revents) {
      signalfd_siginfo info;
      while (::read(sigfd.get(), &info, sizeof(info)) > 0) {
      }
      int status;
      pid_t pid;
      while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
        auto it = children.find(pid);
        if (it == children.end()) continue;
        kura::node::SendRecord(it->second.conn.get(), {"exit", std::to_string(ShellCode(status))});
        children.erase(it);
      }
    }
    // A requester that hung up no longer wants its process.
    for (size_t i = 0; i < order.size(); ++i) {
      const pollfd& p = pfds[2 + pending.size() + i];
      if (!(p.revents & (POLLHUP | POLLERR | POLLIN))) continue;
      auto it = children.find(order[i]);
      if (it == children.end()) continue;
      // Nothing more is expected on this connection: anything sent is discarded.
      char discard;
      if (::recv(p.fd, &discard, 1, MSG_DONTWAIT) == 0 || (p.revents & (POLLHUP | POLLERR))) {
        ::kill(-it->first, SIGHUP);
        ::kill(-it->first, SIGKILL);
        it->second.conn.Reset();
        // Keep the entry until it is reaped, with no one to tell.
      }
    }
    for (auto it = children.begin(); it != children.end();) {
      if (!it->second.conn) {
        int status;
        if (::waitpid(it->first, &status, WNOHANG) == it->first) {
          it = children.erase(it);
          continue;
        }
      }
      ++it;
    }
    std::vector<UniqueFd> still_pending;
    for (size_t i = 0; i < pending.size(); ++i) {
      const pollfd& p = pfds[2 + i];
      if (!p.revents) {
        still_pending.push_back(std::move(pending[i]));
        continue;
      }
      Record request;
      if (kura::node::ReceiveRecord(pending[i].get(), &request) != 0) continue;
      if (request.kind() != "spawn") {
        kura::node::SendRecord(pending[i].get(), {"error", "unknown request"});
        continue;
      }
      pid_t pid = -1;
      std::vector<UniqueFd> fds;
      std::string error = Spawn(request, &pid, &fds);
      if (!error.empty()) {
        kura::node::SendRecord(pending[i].get(), {"error", error});
        continue;
      }
      std::vector<int> raw;
      for (const UniqueFd& f : fds) raw.push_back(f.get());
      kura::node::SendRecord(pending[i].get(), {"ok", std::to_string(pid)}, raw);
      children[pid] = Child{pid, std::move(pending[i])};
    }
    pending = std::move(still_pending);
    if (pfds[0].revents & POLLIN) {
      UniqueFd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (conn) pending.push_back(std::move(conn));
    }
  }
}
