#pragma once

// Helpers shared by the sandbox's tests: specs over the host's programs, and running a sandbox
// with its stdio captured.

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_split.h"
#include "common/unique_fd.h"
#include "gtest/gtest.h"
#include "kura/v1/sandbox.pb.h"
#include "sandbox/sandbox.h"

namespace kura::sandbox::testing {

// Where the test programs (kura_probe, ...) appear inside the sandbox.
inline constexpr char kProgramsMount[] = "/kura-test";

#define KURA_REQUIRE_ROOT()                                                 \
  do {                                                                      \
    if (geteuid() != 0)                                                     \
      GTEST_SKIP() << "needs root: user, mount and network namespaces and " \
                      "cgroups (CI runs the sandbox tests as root)";        \
  } while (0)

// --host-rootfs with the test programs mounted read-only at kProgramsMount.
inline v1::SandboxSpec HostSpec(std::vector<std::string> argv) {
  v1::SandboxSpec spec;
  spec.set_host_rootfs(true);
  for (std::string& arg : argv) spec.add_argv(std::move(arg));
  v1::Mount* programs = spec.add_mounts();
  programs->set_kind(v1::Mount::BIND);
  programs->set_source(KURA_TEST_PROGRAMS_DIR);
  programs->set_target(kProgramsMount);
  programs->set_read_only(true);
  return spec;
}

inline void AddBind(v1::SandboxSpec* spec, const std::string& source, const std::string& target,
                    bool read_only) {
  v1::Mount* mount = spec->add_mounts();
  mount->set_kind(v1::Mount::BIND);
  mount->set_source(source);
  mount->set_target(target);
  mount->set_read_only(read_only);
}

struct Captured {
  v1::SandboxResult result;
  std::string out;
  std::string err;
};

inline std::string ReadToEnd(int fd) {
  std::string data;
  char buffer[4096];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof(buffer))) > 0) data.append(buffer, static_cast<size_t>(n));
  return data;
}

// Runs `spec` with stdin from `input` and stdout/stderr captured, and waits for the end.
inline absl::StatusOr<Captured> RunCaptured(const v1::SandboxSpec& spec,
                                            const std::string& input = "") {
  int in[2], out[2], err[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    return absl::InternalError("pipe2");
  }
  UniqueFd in_read(in[0]), in_write(in[1]), out_read(out[0]), out_write(out[1]), err_read(err[0]),
      err_write(err[1]);
  absl::StatusOr<Sandbox> sandbox = Launch(spec, {in[0], out[1], err[1]});
  in_read.Reset();
  out_write.Reset();
  err_write.Reset();
  if (!sandbox.ok()) return sandbox.status();
  Captured captured;
  std::thread out_reader([&] { captured.out = ReadToEnd(out_read.get()); });
  std::thread err_reader([&] { captured.err = ReadToEnd(err_read.get()); });
  if (!input.empty()) (void)!write(in_write.get(), input.data(), input.size());
  in_write.Reset();
  absl::StatusOr<v1::SandboxResult> result = sandbox->Wait();
  out_reader.join();
  err_reader.join();
  if (!result.ok()) return result.status();
  captured.result = *result;
  return captured;
}

// "key=value" lines into pairs, keeping repeated keys in order.
inline std::vector<std::pair<std::string, std::string>> ParseProbe(const std::string& out) {
  std::vector<std::pair<std::string, std::string>> fields;
  for (absl::string_view line : absl::StrSplit(out, '\n', absl::SkipEmpty())) {
    size_t eq = line.find('=');
    if (eq == absl::string_view::npos) continue;
    fields.emplace_back(std::string(line.substr(0, eq)), std::string(line.substr(eq + 1)));
  }
  return fields;
}

}  // namespace kura::sandbox::testing
