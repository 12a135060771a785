// SeccompProgram's sources: the embedded `analysis` program against a fresh libseccomp build
// of its definition, profile names, and JSON profiles (good ones work, malformed ones are
// refused naming the field).

#include "sandbox/seccomp_profile.h"

#include <sys/socket.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sandbox/seccomp.h"
#include "sandbox/seccomp_compiler.h"
#include "tests/common/status_matchers.h"
#include "tests/sandbox/filtered_child.h"

namespace kura::sandbox {
namespace {

using ::kura::sandbox::seccomp_testing::AnalysisOrDie;
using ::kura::sandbox::seccomp_testing::ChildOutcome;
using ::kura::sandbox::seccomp_testing::RunFiltered;
using ::kura::testing::StatusIs;
using ::testing::HasSubstr;

TEST(SeccompProgramTest, EmbeddedAnalysisEqualsWhatLibseccompBuildsNow) {
  KURA_ASSERT_OK_AND_ASSIGN(std::vector<sock_filter> fresh,
                            CompileSeccompProfile(AnalysisProfile()));
  const std::vector<sock_filter>& embedded = AnalysisOrDie()->instructions();
  ASSERT_EQ(embedded.size(), fresh.size());
  for (size_t i = 0; i < fresh.size(); ++i) {
    EXPECT_EQ(embedded[i].code, fresh[i].code) << "instruction " << i;
    EXPECT_EQ(embedded[i].jt, fresh[i].jt) << "instruction " << i;
    EXPECT_EQ(embedded[i].jf, fresh[i].jf) << "instruction " << i;
    EXPECT_EQ(embedded[i].k, fresh[i].k) << "instruction " << i;
  }
}

TEST(SeccompProgramTest, ForProfileNames) {
  KURA_ASSERT_OK_AND_ASSIGN(auto analysis, SeccompProgram::ForProfile("analysis"));
  EXPECT_EQ(analysis, AnalysisOrDie());
  EXPECT_EQ(analysis->name(), "analysis");
  KURA_ASSERT_OK_AND_ASSIGN(auto none, SeccompProgram::ForProfile("none"));
  EXPECT_EQ(none, nullptr);
  EXPECT_THAT(SeccompProgram::ForProfile("/nonexistent/profile.json"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("/nonexistent/profile.json")));
}

// Writes `text` to a fresh file and returns its path.
std::string WriteTempFile(const std::string& text) {
  char path[] = "/tmp/kura-seccomp-profile-XXXXXX";
  const int fd = mkstemp(path);
  if (fd < 0) abort();
  if (write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size())) abort();
  close(fd);
  return path;
}

TEST(SeccompProgramTest, FromFileBuildsAWorkingDenylist) {
  const std::string path = WriteTempFile(R"({
    "name": "uname-denied",
    "default_action": "allow",
    "rules": [
      {"action": "deny", "syscalls": ["uname", "getppid"]},
      {"action": "errno", "errno": 95, "syscalls": ["sysinfo"]},
      {"action": "deny", "syscalls": ["socket"],
       "args": [{"index": 0, "op": "masked_eq", "mask": 4294967295, "value": 2}]}
    ]
  })");
  KURA_ASSERT_OK_AND_ASSIGN(auto program, SeccompProgram::ForProfile(path));
  unlink(path.c_str());
  ASSERT_NE(program, nullptr);
  EXPECT_EQ(program->name(), "uname-denied");
  ChildOutcome outcome = RunFiltered(*program, [] {
    utsname u;
    struct sysinfo info;
    if (uname(&u) != -1 || errno != EPERM) return 1;
    if (sysinfo(&info) != -1 || errno != EOPNOTSUPP) return 2;
    if (socket(AF_INET, SOCK_STREAM, 0) != -1 || errno != EPERM) return 3;
    if (socket(AF_UNIX, SOCK_STREAM, 0) < 0) return 4;
    if (getpid() <= 0) return 5;
    return 0;
  });
  EXPECT_EQ(outcome.code, 0);
  EXPECT_EQ(outcome.CountOf("uname"), 1u);
  EXPECT_EQ(outcome.CountOf("socket"), 1u);
  EXPECT_EQ(outcome.total, 2u);
}

struct MalformedCase {
  const char* name;
  const char* json;
  const char* message;  // what the error must mention
};

void PrintTo(const MalformedCase& c, std::ostream* os) { *os << c.name; }

class MalformedProfileTest : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedProfileTest, IsRefusedNamingTheField) {
  const std::string path = WriteTempFile(GetParam().json);
  EXPECT_THAT(SeccompProgram::FromFile(path),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(GetParam().message)));
  unlink(path.c_str());
}

INSTANTIATE_TEST_SUITE_P(
    Json, MalformedProfileTest,
    ::testing::Values(
        MalformedCase{"not_json", "{\"name\": ", "not valid JSON"},
        MalformedCase{"not_object", "[1, 2]", "must be an object"},
        MalformedCase{"no_name", R"({"rules": []})", "name"},
        MalformedCase{"no_rules", R"({"name": "x"})", "rules"},
        MalformedCase{"unknown_top_field", R"({"name": "x", "rules": [], "defualt": "deny"})",
                      "defualt: unknown field"},
        MalformedCase{"bad_default", R"({"name": "x", "default_action": "errno", "rules": []})",
                      "default_action"},
        MalformedCase{"max_too_new", R"({"name": "x", "max_syscall": 9999, "rules": []})",
                      "max_syscall"},
        MalformedCase{"bad_action", R"({"name": "x", "rules": [{"action": "permit",
                      "syscalls": ["read"]}]})",
                      "rules[0].action"},
        MalformedCase{"unknown_syscall", R"({"name": "x", "rules": [{"action": "allow",
                      "syscalls": ["read", "frobnicate"]}]})",
                      "unknown x86-64 syscall \"frobnicate\""},
        MalformedCase{"empty_syscalls", R"({"name": "x", "rules": [{"action": "allow",
                      "syscalls": []}]})",
                      "rules[0].syscalls"},
        MalformedCase{"syscall_not_string", R"({"name": "x", "rules": [{"action": "allow",
                      "syscalls": ["read", 3]}]})",
                      "rules[0].syscalls[1]"},
        MalformedCase{"errno_missing", R"({"name": "x", "rules": [{"action": "errno",
                      "syscalls": ["read"]}]})",
                      "rules[0].errno"},
        MalformedCase{"errno_out_of_range", R"({"name": "x", "rules": [{"action": "errno",
                      "errno": 5000, "syscalls": ["read"]}]})",
                      "rules[0].errno"},
        MalformedCase{"arg_index", R"({"name": "x", "rules": [{"action": "allow",
                      "syscalls": ["read"], "args": [{"index": 6, "op": "eq", "value": 0}]}]})",
                      "rules[0].args[0].index"},
        MalformedCase{"arg_op", R"({"name": "x", "rules": [{"action": "allow",
                      "syscalls": ["read"], "args": [{"index": 0, "op": "like", "value": 0}]}]})",
                      "rules[0].args[0].op"},
        MalformedCase{"arg_negative", R"({"name": "x", "rules": [{"action": "allow",
                      "syscalls": ["read"], "args": [{"index": 0, "op": "eq", "value": -1}]}]})",
                      "rules[0].args[0].value"},
        MalformedCase{"mask_missing", R"({"name": "x", "rules": [{"action": "allow",
                      "syscalls": ["read"], "args": [{"index": 0, "op": "masked_eq", "value": 0}]}]})",
                      "rules[0].args[0].mask"},
        MalformedCase{"startup_not_allowed",
                      R"({"name": "x", "rules": [{"action": "allow", "syscalls": ["read",
                      "write", "close", "exit_group"]}]})",
                      "not allowed: sendmsg, execve"},
        MalformedCase{"startup_denied_in_denylist",
                      R"({"name": "x", "default_action": "allow", "rules": [{"action": "deny",
                      "syscalls": ["execve"]}]})",
                      "not allowed: execve"},
        MalformedCase{"above_max", R"({"name": "x", "max_syscall": 300, "rules": [{"action":
                      "allow", "syscalls": ["openat2"]}]})",
                      "above max_syscall 300"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(SeccompProfileTest, EveryDeniedSyscallIsKnownAndNeverAlsoAllowed) {
  std::set<std::string> allowed_unconditionally, denied;
  for (const SeccompRule& rule : AnalysisProfile().rules) {
    for (const std::string& name : rule.syscalls) {
      if (rule.action == SeccompAction::kAllow && rule.args.empty()) {
        allowed_unconditionally.insert(name);
      }
      if (rule.action == SeccompAction::kDeny) denied.insert(name);
    }
  }
  for (const std::string& name : denied) EXPECT_EQ(allowed_unconditionally.count(name), 0u) << name;
  for (const char* must_deny : {"mount", "ptrace", "bpf", "unshare", "setns", "chroot",
                                "pivot_root", "userfaultfd", "io_uring_setup", "kexec_load"}) {
    EXPECT_EQ(denied.count(must_deny), 1u) << must_deny;
  }
}

}  // namespace
}  // namespace kura::sandbox
