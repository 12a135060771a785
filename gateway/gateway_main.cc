// kura-gateway: the only door into kura. Parses flags and runs the library's GatewayServer.
//
//   kura-gateway --state DIR --listen HOST:PORT [--ready-file FILE]
//                [--session-idle-timeout SECONDS] [--session-lifetime SECONDS]
//                [--heartbeat-interval SECONDS] [--workspace-idle-timeout SECONDS]
//                [--login-backoff-ms MS]   (base delay after a failed second factor; default 1000)
//                [--exit-with-parent]      (stop when the process that started it dies)

#include <signal.h>
#include <sys/prctl.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "common/tls.h"
#include "gateway/server.h"

namespace {

int Usage(const std::string& problem) {
  std::fprintf(stderr,
               "kura-gateway: %s\n"
               "usage: kura-gateway --state DIR --listen HOST:PORT [--ready-file FILE]\n"
               "         [--session-idle-timeout S] [--session-lifetime S]\n"
               "         [--heartbeat-interval S] [--workspace-idle-timeout S]\n"
               "         [--login-backoff-ms MS]\n",
               problem.c_str());
  return 2;
}

bool ParseSeconds(const std::string& text, absl::Duration* out) {
  int64_t seconds = 0;
  if (!absl::SimpleAtoi(text, &seconds) || seconds <= 0) return false;
  *out = absl::Seconds(seconds);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  kura::gateway::GatewayOptions options;
  std::string ready_file;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--exit-with-parent") {
      // For tests and scripts that must never leave a gateway behind.
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      continue;
    }
    if (i + 1 >= argc) return Usage(absl::StrCat(flag, " needs a value"));
    const std::string value = argv[++i];
    absl::Duration duration;
    int64_t millis = 0;
    if (flag == "--state") {
      options.state_dir = value;
    } else if (flag == "--listen") {
      options.listen_address = value;
    } else if (flag == "--ready-file") {
      ready_file = value;
    } else if (flag == "--session-idle-timeout" && ParseSeconds(value, &duration)) {
      options.session_idle_timeout = duration;
    } else if (flag == "--session-lifetime" && ParseSeconds(value, &duration)) {
      options.session_lifetime = duration;
    } else if (flag == "--heartbeat-interval" && ParseSeconds(value, &duration)) {
      options.heartbeat_interval = duration;
    } else if (flag == "--login-backoff-ms" && absl::SimpleAtoi(value, &millis) && millis >= 0) {
      options.login_backoff_base = absl::Milliseconds(millis);
    } else if (flag == "--workspace-idle-timeout" && ParseSeconds(value, &duration)) {
      options.workspace_idle_timeout_seconds = static_cast<uint32_t>(duration / absl::Seconds(1));
    } else {
      return Usage(absl::StrCat("bad flag or value: ", flag, " ", value));
    }
  }
  if (options.state_dir.empty() || options.listen_address.empty()) {
    return Usage("--state and --listen are required");
  }
  if (absl::Status tls = kura::RequireTls13(); !tls.ok()) {
    KURA_LOG(Error) << tls;
    return 1;
  }
  // Signals are taken by one thread with sigwait; block them before gRPC starts its threads.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto server = kura::gateway::GatewayServer::Start(options);
  if (!server.ok()) {
    KURA_LOG(Error) << "kura-gateway: " << server.status();
    return 1;
  }
  KURA_LOG(Info) << "kura-gateway serving on " << (*server)->address() << ", state in "
                 << options.state_dir;
  if (!ready_file.empty()) {
    std::ofstream(ready_file) << (*server)->address() << "\n";
  }
  std::thread stopper([&] {
    int signal_number = 0;
    sigwait(&signals, &signal_number);
    KURA_LOG(Info) << "kura-gateway stopping (signal " << signal_number << ")";
    (*server)->Shutdown(absl::Seconds(2));
  });
  (*server)->Wait();
  stopper.join();
  return 0;
}
