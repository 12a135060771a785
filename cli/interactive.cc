// kura run, kura shell and kura upload: the streaming commands.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "cli/cli.h"
#include "cli/command_support.h"
#include "cli/terminal.h"
#include "common/crypto.h"
#include "common/unique_fd.h"

namespace kura::cli {
namespace {

// kura's own failures in `run` and `shell`, apart from any exit code of the workload.
constexpr int kKuraFailure = 125;
constexpr size_t kUploadChunkBytes = 256 << 10;
constexpr size_t kInputChunkBytes = 16 << 10;

// Written to by signal handlers (async-signal-safe: one write of one byte).
std::atomic<int> g_signal_pipe{-1};

void ForwardSignal(int signal_number) {
  const int saved_errno = errno;
  const char byte = static_cast<char>(signal_number);
  const int fd = g_signal_pipe.load();
  if (fd >= 0) (void)!write(fd, &byte, 1);
  errno = saved_errno;
}

bool WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

// Everything after "--", or all of `args` when there is no "--".
std::vector<std::string> CommandAfterDashes(std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--") {
      std::vector<std::string> command(args.begin() + static_cast<long>(i) + 1, args.end());
      args.resize(i);
      return command;
    }
  }
  std::vector<std::string> command = std::move(args);
  args.clear();
  return command;
}

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

std::optional<Pipe> MakePipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return std::nullopt;
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

using AttachStream = grpc::ClientReaderWriter<kura::v1::AttachInput, kura::v1::AttachOutput>;

// Sends keystrokes, resizes and (without a terminal) signals until `stop` becomes readable,
// then closes the sending side.
void PumpInput(AttachStream& stream, int signal_fd, int stop_fd, bool tty) {
  bool stdin_open = true;
  std::string buffer(kInputChunkBytes, '\0');
  while (true) {
    pollfd fds[3] = {{stop_fd, POLLIN, 0}, {signal_fd, POLLIN, 0},
                     {stdin_open ? STDIN_FILENO : -1, POLLIN, 0}};
    if (poll(fds, 3, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents != 0) break;
    kura::v1::AttachInput input;
    if (fds[1].revents & POLLIN) {
      char byte = 0;
      while (read(signal_fd, &byte, 1) == 1) {
        if (byte == SIGWINCH) {
          WindowSize size = TerminalWindowSize(STDIN_FILENO).value_or(WindowSize{});
          input.mutable_resize()->set_rows(size.rows);
          input.mutable_resize()->set_cols(size.cols);
        } else {
          input.set_signal(byte);
        }
        if (!stream.Write(input)) return;
      }
    }
    if (fds[2].revents & (POLLIN | POLLHUP)) {
      ssize_t n = read(STDIN_FILENO, buffer.data(), buffer.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        // End of piped input: what Ctrl-D would have typed.
        stdin_open = false;
        if (!tty) input.set_stdin("\x04");
      } else {
        input.set_stdin(buffer.substr(0, static_cast<size_t>(n)));
      }
      if (!input.stdin().empty() && !stream.Write(input)) return;
    }
  }
  stream.WritesDone();
}

}  // namespace

int RunCommand(const Invocation& invocation) {
  const ClientConfig& config = invocation.config;
  std::vector<std::string> args = invocation.args;
  absl::StatusOr<std::string> workspace = ChooseWorkspace(config, args);
  if (!workspace.ok()) return FailStatus(config, workspace.status()), kKuraFailure;
  std::optional<std::string> cwd = TakeOption(args, "--cwd");
  std::vector<std::string> command = CommandAfterDashes(args);
  if (command.empty()) return Fail(config, "usage: kura run [--workspace ID] -- CMD [ARGS]"), 2;
  absl::StatusOr<std::unique_ptr<GatewayClient>> client = ConnectWithSession(config);
  if (!client.ok()) return FailStatus(config, client.status()), kKuraFailure;
  kura::v1::JobRequest request;
  request.set_workspace_id(*workspace);
  for (const std::string& arg : command) request.add_argv(arg);
  if (cwd.has_value()) request.set_cwd(*cwd);
  auto context = (*client)->Context(absl::ZeroDuration());
  auto reader = (*client)->stub().RunJob(context.get(), request);
  kura::v1::JobOutput output;
  int exit_code = -1;
  while (reader->Read(&output)) {
    switch (output.output_case()) {
      case kura::v1::JobOutput::kStdout:
        WriteAll(STDOUT_FILENO, output.stdout());
        break;
      case kura::v1::JobOutput::kStderr:
        WriteAll(STDERR_FILENO, output.stderr());
        break;
      case kura::v1::JobOutput::kExitCode:
        exit_code = output.exit_code();
        break;
      default:
        break;
    }
  }
  grpc::Status status = reader->Finish();
  if (!status.ok()) return FailCall(config, status), kKuraFailure;
  if (exit_code < 0) return Fail(config, "the job ended without an exit status"), kKuraFailure;
  return exit_code;
}

int ShellCommand(const Invocation& invocation) {
  const ClientConfig& config = invocation.config;
  std::vector<std::string> args = invocation.args;
  absl::StatusOr<std::string> workspace = ChooseWorkspace(config, args);
  if (!workspace.ok()) return FailStatus(config, workspace.status()), kKuraFailure;
  std::vector<std::string> command = CommandAfterDashes(args);
  absl::StatusOr<std::unique_ptr<GatewayClient>> client = ConnectWithSession(config);
  if (!client.ok()) return FailStatus(config, client.status()), kKuraFailure;
  std::optional<Pipe> signals = MakePipe();
  std::optional<Pipe> stop = MakePipe();
  if (!signals.has_value() || !stop.has_value()) return Fail(config, "pipe2 failed"), kKuraFailure;

  const bool tty = isatty(STDIN_FILENO);
  auto context = (*client)->Context(absl::ZeroDuration());
  std::unique_ptr<AttachStream> stream = (*client)->stub().Attach(context.get());
  kura::v1::AttachInput start;
  start.mutable_start()->set_workspace_id(*workspace);
  WindowSize size = TerminalWindowSize(STDIN_FILENO).value_or(WindowSize{});
  start.mutable_start()->mutable_size()->set_rows(size.rows);
  start.mutable_start()->mutable_size()->set_cols(size.cols);
  for (const std::string& arg : command) start.mutable_start()->add_argv(arg);
  const char* term = std::getenv("TERM");
  start.mutable_start()->add_env(absl::StrCat("TERM=", term != nullptr ? term : "xterm"));
  stream->Write(start);

  g_signal_pipe.store(signals->write.get());
  struct sigaction action {};
  action.sa_handler = ForwardSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGWINCH, &action, nullptr);
  if (!tty) sigaction(SIGINT, &action, nullptr);

  int exit_code = -1;
  grpc::Status status;
  {
    // Raw mode: every byte, Ctrl-C included, goes to the workload's terminal.
    std::optional<RawTerminal> raw;
    if (tty) {
      absl::StatusOr<RawTerminal> entered = RawTerminal::Enter(STDIN_FILENO);
      if (entered.ok()) raw.emplace(*std::move(entered));
    }
    std::thread input(PumpInput, std::ref(*stream), signals->read.get(), stop->read.get(), tty);
    bool stopped = false;
    auto stop_input = [&] {
      if (!stopped) (void)!write(stop->write.get(), "x", 1);
      stopped = true;
    };
    kura::v1::AttachOutput output;
    while (stream->Read(&output)) {
      if (output.output_case() == kura::v1::AttachOutput::kData) {
        WriteAll(STDOUT_FILENO, output.data());
      } else if (output.output_case() == kura::v1::AttachOutput::kExitCode) {
        exit_code = output.exit_code();
        stop_input();
      }
    }
    stop_input();
    input.join();
    status = stream->Finish();
  }
  g_signal_pipe.store(-1);
  signal(SIGWINCH, SIG_DFL);
  if (!tty) signal(SIGINT, SIG_DFL);
  if (exit_code >= 0) return exit_code;
  if (!status.ok()) return FailCall(config, status), kKuraFailure;
  return Fail(config, "the session ended without an exit status"), kKuraFailure;
}

int UploadCommand(const Invocation& invocation) {
  const ClientConfig& config = invocation.config;
  std::vector<std::string> args = invocation.args;
  absl::StatusOr<std::string> workspace = ChooseWorkspace(config, args);
  if (!workspace.ok()) return FailStatus(config, workspace.status());
  if (args.empty() || args.size() > 2) return Fail(config, "usage: kura upload FILE [DEST]");
  const std::string& file = args[0];
  std::string dest = args.size() == 2 ? args[1] : file.substr(file.find_last_of('/') + 1);
  UniqueFd fd(open(file.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st {};
  if (!fd || fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Fail(config, absl::StrCat("cannot read ", file, " (a regular file is needed)"));
  }
  absl::StatusOr<std::unique_ptr<GatewayClient>> client = ConnectWithSession(config);
  if (!client.ok()) return FailStatus(config, client.status());
  auto context = (*client)->Context(absl::ZeroDuration());
  kura::v1::UploadResult result;
  auto writer = (*client)->stub().Upload(context.get(), &result);
  kura::v1::UploadChunk start;
  start.mutable_start()->set_workspace_id(*workspace);
  start.mutable_start()->set_path(dest);
  start.mutable_start()->set_size(static_cast<uint64_t>(st.st_size));
  start.mutable_start()->set_mode(st.st_mode & 0777);
  bool open = writer->Write(start);
  std::string buffer(kUploadChunkBytes, '\0');
  while (open) {
    ssize_t n = read(fd.get(), buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    kura::v1::UploadChunk chunk;
    chunk.set_data(buffer.substr(0, static_cast<size_t>(n)));
    open = writer->Write(chunk);
  }
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  if (!status.ok()) return FailCall(config, status);
  if (config.json) {
    PrintJson({{"path", result.path()}, {"size", result.size()}, {"sha256", result.sha256()}});
  } else {
    std::printf("uploaded %s to your project home as %s (%llu bytes, sha256 %s)\n", file.c_str(),
                result.path().c_str(), static_cast<unsigned long long>(result.size()),
                result.sha256().c_str());
  }
  return 0;
}

}  // namespace kura::cli
