// Start of /bin/true in full isolation: kura (library and kura-sandbox program, seccomp and
// cgroup included) against bubblewrap doing the same binds, side by side in one run, in rounds
// so that drift of the machine hits every contender alike. Prints mean and median per start and
// the ratio kura / bwrap.
//
//   start_bench [ROUNDS [ONLY]]   (default 200 rounds; ONLY: run just the contenders whose
//                                 name contains it; needs root, like the sandbox itself)
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include "sandbox/sandbox.h"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

// The same tree for every contender: the host's /usr read-only, /lib, /lib64 and /bin.
const std::vector<std::string> kBwrap = {
    "bwrap", "--unshare-all", "--die-with-parent", "--ro-bind", "/usr",   "/usr",      "--ro-bind",
    "/lib",  "/lib",          "--ro-bind",         "/lib64",    "/lib64", "--symlink", "usr/bin",
    "/bin",  "/bin/true"};
// bwrap with a /proc and a /dev, which kura always mounts.
const std::vector<std::string> kBwrapProcDev = {"bwrap",     "--unshare-all", "--die-with-parent",
                                                "--ro-bind", "/usr",          "/usr",
                                                "--ro-bind", "/lib",          "/lib",
                                                "--ro-bind", "/lib64",        "/lib64",
                                                "--symlink", "usr/bin",       "/bin",
                                                "--proc",    "/proc",         "--dev",
                                                "/dev",      "/bin/true"};
const std::vector<std::string> kKuraSandbox = {
    KURA_SANDBOX_BIN, "run",  "--ro-bind", "/usr",      "/usr",   "--symlink",
    "usr/lib",        "/lib", "--symlink", "usr/lib64", "/lib64", "--symlink",
    "usr/bin",        "/bin", "--",        "/bin/true"};

kura::v1::SandboxSpec LibrarySpec() {
  kura::v1::SandboxSpec spec;
  spec.add_argv("/bin/true");
  auto* usr = spec.add_mounts();
  usr->set_kind(kura::v1::Mount::BIND);
  usr->set_source("/usr");
  usr->set_target("/usr");
  usr->set_read_only(true);
  for (auto [link, target] : {std::pair{"/lib", "usr/lib"}, std::pair{"/lib64", "usr/lib64"},
                              std::pair{"/bin", "usr/bin"}}) {
    auto* symlink = spec.add_mounts();
    symlink->set_kind(kura::v1::Mount::SYMLINK);
    symlink->set_source(target);
    symlink->set_target(link);
  }
  return spec;  // seccomp "analysis", cgroup, every namespace: the defaults
}

bool RunProgram(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  if (posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), environ) != 0) return false;
  int status = 0;
  return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool RunLibrary(const kura::v1::SandboxSpec& spec) {
  auto sandbox = kura::sandbox::Launch(spec);
  if (!sandbox.ok()) {
    std::fprintf(stderr, "launch: %s\n", sandbox.status().ToString().c_str());
    return false;
  }
  auto result = sandbox->Wait();
  return result.ok() && result->reason() == kura::v1::SandboxResult::EXITED &&
         result->exit_code() == 0;
}

struct Contender {
  const char* name;
  std::function<bool()> start;
  std::vector<double> ms;
};

double Mean(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 200;
  const kura::v1::SandboxSpec spec = LibrarySpec();
  std::vector<Contender> contenders = {
      {"kura (library)", [&] { return RunLibrary(spec); }, {}},
      {"kura-sandbox run", [] { return RunProgram(kKuraSandbox); }, {}},
      {"bwrap", [] { return RunProgram(kBwrap); }, {}},
      {"bwrap --proc --dev", [] { return RunProgram(kBwrapProcDev); }, {}},
  };
  if (argc > 2) {
    std::erase_if(contenders, [&](const Contender& c) {
      return std::string(c.name).find(argv[2]) == std::string::npos;
    });
  }
  for (Contender& c : contenders) {  // warm caches; a failure here ends the benchmark
    for (int i = 0; i < 5; ++i) {
      if (!c.start()) {
        std::fprintf(stderr, "%s failed to run /bin/true\n", c.name);
        return 1;
      }
    }
  }
  for (int round = 0; round < rounds; ++round) {
    for (Contender& c : contenders) {
      auto begin = Clock::now();
      if (!c.start()) {
        std::fprintf(stderr, "%s failed in round %d\n", c.name, round);
        return 1;
      }
      c.ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - begin).count());
    }
  }
  std::printf("start of /bin/true, %d rounds\n", rounds);
  std::printf("%-22s %10s %10s\n", "", "mean ms", "median ms");
  for (const Contender& c : contenders) {
    std::printf("%-22s %10.2f %10.2f\n", c.name, Mean(c.ms), Median(c.ms));
  }
  if (contenders.size() == 4) {
    const double bwrap = Median(contenders[2].ms);
    std::printf("ratio kura (library) / bwrap:   %.2f (median)\n",
                Median(contenders[0].ms) / bwrap);
    std::printf("ratio kura-sandbox run / bwrap: %.2f (median)\n",
                Median(contenders[1].ms) / bwrap);
  }
  return 0;
}
