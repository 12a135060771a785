// seccomp_bench: the cost of kura's `analysis` filter on a syscall-heavy loop.
//
//   seccomp_bench [ITERATIONS] [ROUNDS]
//
// Each iteration makes two syscalls, getpid() and a 1-byte read from /dev/zero. The loop runs in
// a forked child with no filter, under a one-rule filter (allow everything, refuse kexec_load:
// the kernel's fixed cost of having any filter) and under `analysis` with its listener served
// by a DenialMonitor, as in a real sandbox. The rounds are interleaved and the best round of
// each kind is reported, so that other load on the machine inflates none of them alone.
// Goal (DESIGN.md): analysis / one-rule <= 1.1.

#include <fcntl.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

#include "common/fd_passing.h"
#include "sandbox/seccomp.h"

namespace {

using kura::ReceiveFd;
using kura::SendFd;

enum class Filter { kNone, kOneRule, kAnalysis };
const char* const kFilterNames[] = {"none", "one-rule", "analysis"};

double NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

// What the measured loop does in each iteration.
enum class Workload {
  kGetpidRead,  // getpid() + read(/dev/zero, 1): the goal's loop
  kIoctl,       // ioctl(FIONREAD) on a pipe: analysis inspects its argument, so the kernel's
                // always-allow cache cannot skip the filter and the whole program runs
};

// The measured loop; returns ns per iteration.
double Loop(Workload workload, long iterations) {
  const int zero = open("/dev/zero", O_RDONLY | O_CLOEXEC);
  int pipefd[2];
  if (zero < 0 || pipe2(pipefd, O_CLOEXEC) != 0) _exit(3);
  char byte;
  int available;
  const double start = NowNs();
  for (long i = 0; i < iterations; ++i) {
    if (workload == Workload::kGetpidRead) {
      syscall(SYS_getpid);
      if (read(zero, &byte, 1) != 1) _exit(4);
    } else if (ioctl(pipefd[0], FIONREAD, &available) != 0) {
      _exit(4);
    }
  }
  return (NowNs() - start) / iterations;
}

bool InstallOneRule() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr) return false;
  const bool ok = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(kexec_load), 0) == 0 &&
                  seccomp_load(ctx) == 0;
  seccomp_release(ctx);
  return ok;
}

// Runs the loop in a child under `filter`; returns ns per iteration, or a negative number.
double MeasureInChild(Filter filter, Workload workload,
                      const kura::sandbox::SeccompProgram& analysis, long iterations) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return -1;
  const pid_t pid = fork();
  if (pid == 0) {
    close(sv[0]);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(1);
    if (filter == Filter::kOneRule && !InstallOneRule()) _exit(1);
    if (filter == Filter::kAnalysis) {
      const int listener = analysis.InstallInChild();
      if (listener < 0 || !SendFd(sv[1], listener)) _exit(1);
      close(listener);
    }
    Loop(workload, iterations / 10);  // warm caches and the CPU's frequency
    const double ns = Loop(workload, iterations);
    _exit(write(sv[1], &ns, sizeof ns) == sizeof ns ? 0 : 2);
  }
  close(sv[1]);
  if (pid < 0) return -1;
  std::unique_ptr<kura::sandbox::DenialMonitor> monitor;
  if (filter == Filter::kAnalysis) {
    monitor = std::make_unique<kura::sandbox::DenialMonitor>(kura::UniqueFd(ReceiveFd(sv[0])));
  }
  double ns = -1;
  if (read(sv[0], &ns, sizeof ns) != sizeof ns) ns = -1;
  close(sv[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
  if (monitor != nullptr && monitor->total() != 0) {
    std::fprintf(stderr, "seccomp_bench: the loop was refused %llu syscalls\n",
                 static_cast<unsigned long long>(monitor->total()));
    return -1;
  }
  return ns;
}

}  // namespace

int main(int argc, char** argv) {
  const long iterations = argc > 1 ? std::atol(argv[1]) : 2000000;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 7;
  if (iterations <= 0 || rounds <= 0) {
    std::fprintf(stderr, "usage: %s [ITERATIONS] [ROUNDS]\n", argv[0]);
    return 2;
  }
  auto analysis = kura::sandbox::SeccompProgram::Analysis();
  if (!analysis.ok()) {
    std::fprintf(stderr, "seccomp_bench: %s\n", analysis.status().ToString().c_str());
    return 1;
  }

  double best[2][3];
  std::fill(&best[0][0], &best[0][0] + 6, 1e300);
  for (int round = 0; round < rounds; ++round) {
    for (Workload w : {Workload::kGetpidRead, Workload::kIoctl}) {
      for (Filter f : {Filter::kNone, Filter::kOneRule, Filter::kAnalysis}) {
        const double ns = MeasureInChild(f, w, **analysis, iterations);
        if (ns < 0) {
          std::fprintf(stderr, "seccomp_bench: the %s child failed\n",
                       kFilterNames[static_cast<int>(f)]);
          return 1;
        }
        double& b = best[static_cast<int>(w)][static_cast<int>(f)];
        b = std::min(b, ns);
      }
    }
  }

  std::printf(
      "seccomp_bench: %ld iterations, best of %d rounds; analysis program: %zu BPF "
      "instructions\n",
      iterations, rounds, (*analysis)->instructions().size());
  std::printf("getpid + read(/dev/zero, 1):\n");
  for (int f = 0; f < 3; ++f) {
    std::printf("  %-9s %8.1f ns/iteration\n", kFilterNames[f], best[0][f]);
  }
  const double ratio = best[0][2] / best[0][1];
  std::printf("  analysis / one-rule = %.3f (goal <= 1.1): %s\n", ratio,
              ratio <= 1.1 ? "met" : "NOT met");
  std::printf("ioctl(FIONREAD), the whole analysis filter runs (for information):\n");
  for (int f = 0; f < 3; ++f) {
    std::printf("  %-9s %8.1f ns/iteration\n", kFilterNames[f], best[1][f]);
  }
  std::printf("  analysis / one-rule = %.3f\n", best[1][2] / best[1][1]);
  return 0;
}
