#include "node/supervisor.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <list>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "common/child_process.h"
#include "common/logging.h"
#include "common/status.h"
#include "google/protobuf/util/json_util.h"
#include "node/wire.h"
#include "sandbox/sandbox.h"

namespace kura::node {
namespace {

constexpr int kReadyTimeoutSeconds = 60;
constexpr int kLaunchAttempts = 3;
constexpr int kLaunchWatchdogSeconds = 15;

// SIGKILLs every child of every thread of this process (/proc/self/task/*/children).
void KillChildren() {
  DIR* tasks = ::opendir("/proc/self/task");
  if (tasks == nullptr) return;
  while (dirent* e = ::readdir(tasks)) {
    if (e->d_name[0] == '.') continue;
    std::string children;
    auto text = ReadSmallFile(absl::StrCat("/proc/self/task/", e->d_name, "/children"));
    if (!text.ok()) continue;
    for (absl::string_view pid : absl::StrSplit(*text, ' ', absl::SkipWhitespace())) {
      int n;
      if (absl::SimpleAtoi(pid, &n) && n > 1) ::kill(n, SIGKILL);
    }
  }
  ::closedir(tasks);
}

int64_t NowUnix() { return static_cast<int64_t>(::time(nullptr)); }

// A process started by kura-workspace-init: the connection on which its exit is reported.
struct InitProcess {
  UniqueFd conn;
  std::vector<UniqueFd> fds;
};

// A job or one-off terminal: its exit is relayed from init to the agent.
struct Relay {
  UniqueFd init_conn;
  UniqueFd node_conn;
};

class Supervisor {
 public:
  explicit Supervisor(const SupervisorOptions& options) : options_(options) {}

  int Run();

 private:
  absl::Status Start();
  absl::Status LaunchOnce(const v1::SandboxSpec& spec, const sandbox::StdioFds& stdio);
  absl::Status AwaitInit();
  absl::StatusOr<InitProcess> SpawnInInit(bool pty, unsigned rows, unsigned cols,
                                          const std::string& cwd,
                                          const std::vector<std::string>& env,
                                          const std::vector<std::string>& argv);
  void Serve(UniqueFd conn);
  void Attach(UniqueFd conn, const Record& request);
  void Job(UniqueFd conn, const Record& request);
  void Shutdown(const std::string& reason);
  void EndShell();
  void RelayExits(const std::vector<pollfd>& pfds, size_t at);
  void ServePending(const std::vector<pollfd>& pfds, size_t first);
  bool Active() const { return attached_.valid() || !relays_.empty(); }

  const SupervisorOptions& options_;
  const std::string& id() const { return options_.workspace_id; }
  v1::NodeOpenWorkspaceRequest request_;
  std::optional<sandbox::Sandbox> sandbox_;
  UniqueFd listener_;
  std::vector<UniqueFd> pending_;
  // The workspace's shell: its init connection and PTY master, and the agent attached to it.
  UniqueFd shell_conn_;
  UniqueFd shell_master_;
  UniqueFd attached_;
  std::list<Relay> relays_;
  int64_t created_ = NowUnix();
  int64_t last_active_ = NowUnix();
  // For the idle timeout: a monotonic clock, reset when the workspace becomes ready.
  std::chrono::steady_clock::time_point idle_since_ = std::chrono::steady_clock::now();
  void Touch() {
    last_active_ = NowUnix();
    idle_since_ = std::chrono::steady_clock::now();
  }
  bool done_ = false;
};

// Splits ["n_env", env..., argv...] starting at `at`.
bool SplitEnvArgv(const Record& r, size_t at, std::vector<std::string>* env,
                  std::vector<std::string>* argv) {
  size_t n_env;
  if (!absl::SimpleAtoi(r.field(at), &n_env) || at + 1 + n_env > r.fields.size()) return false;
  env->assign(r.fields.begin() + at + 1, r.fields.begin() + at + 1 + n_env);
  argv->assign(r.fields.begin() + at + 1 + n_env, r.fields.end());
  return true;
}

absl::Status Supervisor::Start() {
  KURA_ASSIGN_OR_RETURN(request_, ReadOpenRequest(options_.dirs, id()));
  KURA_ASSIGN_OR_RETURN(std::string json, ReadSmallFile(options_.dirs.SpecFile(id())));
  v1::SandboxSpec spec;
  if (!google::protobuf::util::JsonStringToMessage(json, &spec).ok()) {
    return absl::DataLossError(absl::StrCat(options_.dirs.SpecFile(id()), " is corrupt"));
  }
  UniqueFd log(
      ::open(options_.dirs.LogFile(id()).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!log) return ErrnoError("open", options_.dirs.LogFile(id()));
  UniqueFd null(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  sandbox::StdioFds stdio;
  stdio.in = null.get();
  stdio.out = log.get();
  stdio.err = log.get();
  absl::Status started;
  for (int attempt = 1; attempt <= kLaunchAttempts; ++attempt) {
    started = LaunchOnce(spec, stdio);
    if (started.ok()) break;
    KURA_LOG(Warning) << "workspace " << id() << ": launch attempt " << attempt << ": " << started;
    sandbox_.reset();
  }
  KURA_RETURN_IF_ERROR(started);
  listener_ = ListenSeqpacket(options_.dirs.SupervisorSocket(id()), 0600);
  if (!listener_) return ErrnoError("listen", options_.dirs.SupervisorSocket(id()));
  return absl::OkStatus();
}

// Launches the sandbox under a watchdog. Works around a hang of kura::sandbox on cgroup v1
// hosts: its init is cloned from a helper thread while another thread of the launcher may be
// half-created, and glibc's setgroups() in the child then waits forever for that thread (the
// child has a stale copy of the thread list). If Launch has not returned in time, the stuck
// child is killed, Launch returns with a failed setup and the caller tries again.
absl::Status Supervisor::LaunchOnce(const v1::SandboxSpec& spec, const sandbox::StdioFds& stdio) {
  absl::Notification returned, running;
  std::thread watchdog([&] {
    running.Notify();
    if (returned.WaitForNotificationWithTimeout(absl::Seconds(kLaunchWatchdogSeconds))) return;
    KURA_LOG(Warning) << "workspace " << id() << ": sandbox setup hung; killing it";
    KillChildren();
  });
  // The same glibc state makes a thread still being created a hazard for the clone: wait until
  // the watchdog runs.
  running.WaitForNotification();
  absl::StatusOr<sandbox::Sandbox> launched = sandbox::Launch(spec, stdio);
  returned.Notify();
  watchdog.join();
  if (!launched.ok()) return launched.status();
  sandbox_.emplace(*std::move(launched));
  // For the agent to find a sandbox whose supervisor died (WorkspaceHost::Prepare): the init's
  // pid and start time, which together name it even once the pid is reused.
  auto start_time = ProcessStartTime(sandbox_->pid());
  if (start_time.ok()) {
    (void)WriteFileAtomically(options_.dirs.SandboxPidFile(id()),
                              absl::StrCat(sandbox_->pid(), " ", *start_time, "\n"));
  }
  return AwaitInit();
}

// Polls until kura-workspace-init accepts connections, or the sandbox ends first.
absl::Status Supervisor::AwaitInit() {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(kReadyTimeoutSeconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (ConnectSeqpacket(options_.dirs.InitSocket(id()))) return absl::OkStatus();
    pollfd p{sandbox_->exit_fd(), POLLIN, 0};
    if (::poll(&p, 1, 20) > 0) {
      KURA_ASSIGN_OR_RETURN(v1::SandboxResult result, sandbox_->Wait());
      std::string why = result.failed_step().empty()
                            ? absl::StrCat("exit code ", result.exit_code())
                            : absl::StrCat("setup step ", result.failed_step(), ": ",
                                           std::strerror(result.setup_errno()));
      return absl::FailedPreconditionError(
          absl::StrCat("the sandbox ended before the workspace was ready (", why, ")"));
    }
  }
  return absl::DeadlineExceededError("kura-workspace-init did not start in time");
}

absl::StatusOr<InitProcess> Supervisor::SpawnInInit(bool pty, unsigned rows, unsigned cols,
                                                    const std::string& cwd,
                                                    const std::vector<std::string>& env,
                                                    const std::vector<std::string>& argv) {
  InitProcess out;
  out.conn = ConnectSeqpacket(options_.dirs.InitSocket(id()));
  if (!out.conn) return ErrnoError("connect", options_.dirs.InitSocket(id()));
  std::vector<std::string> fields = {
      "spawn", pty ? "pty" : "pipe",    absl::StrCat(rows), absl::StrCat(cols),
      cwd,     absl::StrCat(env.size())};
  fields.insert(fields.end(), env.begin(), env.end());
  fields.insert(fields.end(), argv.begin(), argv.end());
  if (int err = SendRecord(out.conn.get(), fields); err != 0) {
    return ErrnoError("sendmsg", "init.sock", err);
  }
  Record reply;
  if (int err = ReceiveRecord(out.conn.get(), &reply); err != 0) {
    return ErrnoError("recvmsg", "init.sock", err);
  }
  if (reply.kind() != "ok") {
    return absl::FailedPreconditionError(absl::StrCat("cannot start process: ", reply.field(1)));
  }
  if (reply.fds.size() != (pty ? 1u : 3u)) return absl::InternalError("init sent no descriptors");
  out.fds = std::move(reply.fds);
  return out;
}

void Supervisor::Attach(UniqueFd conn, const Record& request) {
  unsigned rows = 0, cols = 0;
  (void)absl::SimpleAtoi(request.field(1), &rows);
  (void)absl::SimpleAtoi(request.field(2), &cols);
  std::vector<std::string> env, argv;
  if (!SplitEnvArgv(request, 3, &env, &argv)) {
    SendRecord(conn.get(), {"error", "malformed attach request"});
    return;
  }
  std::string home = absl::StrCat("/home/", request_.user());
  if (!argv.empty()) {
    auto process = SpawnInInit(true, rows, cols, home, env, argv);
    if (!process.ok()) {
      SendRecord(conn.get(), {"error", std::string(process.status().message())});
      return;
    }
    SendRecord(conn.get(), {"ok"}, {process->fds[0].get()});
    relays_.push_back(Relay{std::move(process->conn), std::move(conn)});
    return;
  }
  if (!shell_master_) {
    auto process = SpawnInInit(true, rows, cols, home, env, {});
    if (!process.ok()) {
      SendRecord(conn.get(), {"error", std::string(process.status().message())});
      return;
    }
    shell_conn_ = std::move(process->conn);
    shell_master_ = std::move(process->fds[0]);
  } else if (rows != 0 && cols != 0) {
    winsize ws{};
    ws.ws_row = rows;
    ws.ws_col = cols;
    ::ioctl(shell_master_.get(), TIOCSWINSZ, &ws);
  }
  if (attached_) SendRecord(attached_.get(), {"detached"});
  SendRecord(conn.get(), {"ok"}, {shell_master_.get()});
  attached_ = std::move(conn);
}

void Supervisor::Job(UniqueFd conn, const Record& request) {
  std::vector<std::string> env, argv;
  if (!SplitEnvArgv(request, 2, &env, &argv) || argv.empty()) {
    SendRecord(conn.get(), {"error", "malformed job request"});
    return;
  }
  std::string cwd =
      request.field(1).empty() ? absl::StrCat("/home/", request_.user()) : request.field(1);
  auto process = SpawnInInit(false, 0, 0, cwd, env, argv);
  if (!process.ok()) {
    SendRecord(conn.get(), {"error", std::string(process.status().message())});
    return;
  }
  SendRecord(conn.get(), {"ok"},
             {process->fds[0].get(), process->fds[1].get(), process->fds[2].get()});
  relays_.push_back(Relay{std::move(process->conn), std::move(conn)});
}

void Supervisor::Serve(UniqueFd conn) {
  Record request;
  if (ReceiveRecord(conn.get(), &request) != 0) return;
  Touch();
  if (request.kind() == "status") {
    SendRecord(conn.get(), {"ok", absl::StrCat(created_), absl::StrCat(last_active_),
                            attached_ ? "1" : "0", absl::StrCat(relays_.size())});
  } else if (request.kind() == "attach") {
    Attach(std::move(conn), request);
  } else if (request.kind() == "job") {
    Job(std::move(conn), request);
  } else if (request.kind() == "close") {
    SendRecord(conn.get(), {"ok"});
    Shutdown(request.field(1).empty() ? "closed" : request.field(1));
  } else {
    SendRecord(conn.get(), {"error", "unknown request"});
  }
}

void Supervisor::Shutdown(const std::string& reason) {
  KURA_LOG(Info) << "workspace " << id() << " closing: " << reason;
  (void)WriteFileAtomically(options_.dirs.ClosedFile(id()), reason + "\n");
  ::unlink(options_.dirs.SupervisorSocket(id()).c_str());
  listener_.Reset();
  if (sandbox_.has_value()) {
    if (absl::Status s = sandbox_->Kill(); !s.ok()) {
      KURA_LOG(Error) << s;
    }
    (void)sandbox_->Wait();
  }
  done_ = true;
}

// The shell ended (or init went away): the attached agent gets its exit code.
void Supervisor::EndShell() {
  Record r;
  std::string code = "255";
  if (ReceiveRecord(shell_conn_.get(), &r) == 0 && r.kind() == "exit") code = r.field(1);
  if (attached_) SendRecord(attached_.get(), {"exit", code});
  shell_conn_.Reset();
  shell_master_.Reset();
  attached_.Reset();
  Touch();
}

// Relays init's exit reports to the agent; `pfds[at]` onwards are the relays' pairs in order.
void Supervisor::RelayExits(const std::vector<pollfd>& pfds, size_t at) {
  for (auto it = relays_.begin(); it != relays_.end(); at += 2) {
    bool ended = false;
    if (pfds[at].revents) {
      Record r;
      std::string code = "255";
      if (ReceiveRecord(it->init_conn.get(), &r) == 0 && r.kind() == "exit") code = r.field(1);
      SendRecord(it->node_conn.get(), {"exit", code});
      ended = true;
    } else if (pfds[at + 1].revents) {
      ended = true;  // the agent went away: closing init's connection kills the process
    }
    if (ended) {
      it = relays_.erase(it);
      Touch();
    } else {
      ++it;
    }
  }
}

// Serves the agent's connections whose request arrived; `pfds[first]` onwards are pending_.
void Supervisor::ServePending(const std::vector<pollfd>& pfds, size_t first) {
  std::vector<UniqueFd> waiting;
  for (size_t i = 0; i < pending_.size(); ++i) {
    if (!pfds[first + i].revents) {
      waiting.push_back(std::move(pending_[i]));
      continue;
    }
    Serve(std::move(pending_[i]));
    if (done_) return;
  }
  pending_ = std::move(waiting);
}

int Supervisor::Run() {
  if (absl::Status s = Start(); !s.ok()) {
    KURA_LOG(Error) << "workspace " << id() << ": " << s;
    (void)WriteFileAtomically(options_.dirs.FailedFile(id()), std::string(s.message()) + "\n");
    return 1;
  }
  KURA_LOG(Info) << "workspace " << id() << " running";
  Touch();
  // A termination request (service stop, operator) closes the workspace cleanly. Blocked only
  // now: the sandbox's processes must not inherit the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  sigprocmask(SIG_BLOCK, &stop_signals, nullptr);
  UniqueFd stop(::signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK));
  const int64_t idle_timeout = request_.idle_timeout_seconds();
  while (!done_) {
    std::vector<pollfd> pfds = {{listener_.get(), POLLIN, 0},
                                {sandbox_->exit_fd(), POLLIN, 0},
                                {shell_conn_.get(), POLLIN, 0},
                                {attached_.get(), POLLIN, 0},
                                {stop.get(), POLLIN, 0}};
    const size_t first_pending = pfds.size();
    for (const UniqueFd& p : pending_) pfds.push_back({p.get(), POLLIN, 0});
    for (const Relay& r : relays_) {
      pfds.push_back({r.init_conn.get(), POLLIN, 0});
      pfds.push_back({r.node_conn.get(), POLLIN, 0});
    }
    if (::poll(pfds.data(), pfds.size(), idle_timeout > 0 ? 1000 : -1) < 0) {
      if (errno == EINTR) continue;
      KURA_LOG(Error) << ErrnoError("poll");
      Shutdown("supervisor failed");
      break;
    }
    if (Active()) Touch();
    if (pfds[1].revents) {
      Shutdown("the sandbox ended");
      break;
    }
    if (pfds[4].revents) {
      signalfd_siginfo info{};
      if (::read(stop.get(), &info, sizeof(info)) == sizeof(info)) {
        Shutdown(absl::StrCat("the supervisor was stopped by signal ", info.ssi_signo));
        break;
      }
    }
    if (pfds[2].revents) {
      EndShell();
    } else if (pfds[3].revents) {  // the agent detached
      attached_.Reset();
      Touch();
    }
    RelayExits(pfds, first_pending + pending_.size());
    ServePending(pfds, first_pending);
    if (done_) break;
    if (pfds[0].revents & POLLIN) {
      UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (conn) pending_.push_back(std::move(conn));
    }
    if (idle_timeout > 0 && !Active() &&
        std::chrono::steady_clock::now() - idle_since_ >= std::chrono::seconds(idle_timeout)) {
      Shutdown(absl::StrCat("idle for ", idle_timeout, " s"));
    }
  }
  return 0;
}

}  // namespace

int RunSupervisor(const SupervisorOptions& options) {
  // Detach from the agent that started us: a second fork makes this process an orphan, adopted
  // by init (or the service manager's subreaper), so the agent neither has to reap it nor takes
  // it down when it stops. No threads exist yet, so forking is safe.
  pid_t pid = ::fork();
  if (pid < 0) return 1;
  if (pid > 0) _exit(0);
  ::signal(SIGPIPE, SIG_IGN);
  (void)WriteFileAtomically(options.dirs.PidFile(options.workspace_id),
                            absl::StrCat(::getpid(), "\n"));
  return Supervisor(options).Run();
}

}  // namespace kura::node
