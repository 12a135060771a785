#include "sandbox/cli_flags.h"

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "google/protobuf/util/json_util.h"

namespace kura::sandbox {
namespace {

using FlagSetter = absl::Status (*)(const std::vector<std::string>& values, v1::SandboxSpec*);

struct Flag {
  const char* name;
  int arity;
  FlagSetter set;
};

absl::Status BadValue(absl::string_view flag, absl::string_view value, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(flag, " ", value, ": ", why));
}

absl::StatusOr<uint32_t> ParseCount(absl::string_view flag, const std::string& text) {
  uint32_t value = 0;
  if (!absl::SimpleAtoi(text, &value)) return BadValue(flag, text, "not a non-negative integer");
  return value;
}

void AddBind(const std::vector<std::string>& v, bool read_only, v1::SandboxSpec* spec) {
  v1::Mount* mount = spec->add_mounts();
  mount->set_kind(v1::Mount::BIND);
  mount->set_source(v[0]);
  mount->set_target(v[1]);
  mount->set_read_only(read_only);
}

absl::Status SetSize(absl::string_view flag, const std::string& text, uint64_t* out) {
  absl::StatusOr<uint64_t> size = ParseSize(text);
  if (!size.ok()) return BadValue(flag, text, size.status().message());
  *out = *size;
  return absl::OkStatus();
}

#define KURA_SIZE_FLAG(flag, field)                           \
  [](const std::vector<std::string>& v, v1::SandboxSpec* s) { \
    uint64_t size = 0;                                        \
    KURA_RETURN_IF_ERROR(SetSize(flag, v[0], &size));         \
    s->mutable_limits()->set_##field(size);                   \
    return absl::OkStatus();                                  \
  }

#define KURA_COUNT_FLAG(flag, setter)                                         \
  [](const std::vector<std::string>& v, v1::SandboxSpec* s) -> absl::Status { \
    KURA_ASSIGN_OR_RETURN(uint32_t n, ParseCount(flag, v[0]));                \
    s->setter(n);                                                             \
    return absl::OkStatus();                                                  \
  }

const Flag kFlags[] = {
    {"--rootfs", 1,
     [](const auto& v, v1::SandboxSpec* s) {
       s->set_rootfs(v[0]);
       return absl::OkStatus();
     }},
    {"--host-rootfs", 0,
     [](const auto&, v1::SandboxSpec* s) {
       s->set_host_rootfs(true);
       return absl::OkStatus();
     }},
    {"--ro-bind", 2,
     [](const auto& v, v1::SandboxSpec* s) {
       AddBind(v, true, s);
       return absl::OkStatus();
     }},
    {"--bind", 2,
     [](const auto& v, v1::SandboxSpec* s) {
       AddBind(v, false, s);
       return absl::OkStatus();
     }},
    {"--tmpfs", 2,
     [](const auto& v, v1::SandboxSpec* s) {
       uint64_t size = 0;
       KURA_RETURN_IF_ERROR(SetSize("--tmpfs", v[1], &size));
       v1::Mount* mount = s->add_mounts();
       mount->set_kind(v1::Mount::TMPFS);
       mount->set_target(v[0]);
       mount->set_size_bytes(size);
       return absl::OkStatus();
     }},
    {"--symlink", 2,
     [](const auto& v, v1::SandboxSpec* s) {
       v1::Mount* mount = s->add_mounts();
       mount->set_kind(v1::Mount::SYMLINK);
       mount->set_source(v[0]);
       mount->set_target(v[1]);
       return absl::OkStatus();
     }},
    {"--dev", 1,
     [](const auto& v, v1::SandboxSpec* s) {
       s->add_devices(v[0]);
       return absl::OkStatus();
     }},
    {"--mount-sys", 0,
     [](const auto&, v1::SandboxSpec* s) {
       s->set_mount_sys(true);
       return absl::OkStatus();
     }},
    {"--memory", 1, KURA_SIZE_FLAG("--memory", memory_bytes)},
    {"--disk", 1, KURA_SIZE_FLAG("--disk", disk_bytes)},
    {"--fsize", 1, KURA_SIZE_FLAG("--fsize", file_size_bytes)},
    {"--cpus", 1,
     [](const auto& v, v1::SandboxSpec* s) {
       double cpus = 0;
       if (!absl::SimpleAtod(v[0], &cpus) || !(cpus > 0) || cpus > 4096) {
         return BadValue("--cpus", v[0], "not a positive number of CPUs");
       }
       s->mutable_limits()->set_cpus(cpus);
       return absl::OkStatus();
     }},
    {"--pids", 1, KURA_COUNT_FLAG("--pids", mutable_limits()->set_pids)},
    {"--nofile", 1, KURA_COUNT_FLAG("--nofile", mutable_limits()->set_nofile)},
    {"--wall-time", 1, KURA_COUNT_FLAG("--wall-time", mutable_limits()->set_wall_time_seconds)},
    {"--uid", 1, KURA_COUNT_FLAG("--uid", set_uid)},
    {"--gid", 1, KURA_COUNT_FLAG("--gid", set_gid)},
    {"--env", 1,
     [](const auto& v, v1::SandboxSpec* s) {
       if (v[0].find('=') == std::string::npos || v[0][0] == '=') {
         return BadValue("--env", v[0], "expected KEY=VALUE");
       }
       s->add_env(v[0]);
       return absl::OkStatus();
     }},
    {"--chdir", 1,
     [](const auto& v, v1::SandboxSpec* s) {
       s->set_cwd(v[0]);
       return absl::OkStatus();
     }},
    {"--hostname", 1,
     [](const auto& v, v1::SandboxSpec* s) {
       s->set_hostname(v[0]);
       return absl::OkStatus();
     }},
    {"--tty", 0,
     [](const auto&, v1::SandboxSpec* s) {
       s->set_tty(true);
       return absl::OkStatus();
     }},
    {"--seccomp", 1,
     [](const auto& v, v1::SandboxSpec* s) {
       s->set_seccomp_profile(v[0]);
       return absl::OkStatus();
     }},
    {"--spec", 1, [](const auto&, v1::SandboxSpec*) { return absl::OkStatus(); }},  // read first
};

const Flag* FindFlag(absl::string_view name) {
  for (const Flag& flag : kFlags) {
    if (name == flag.name) return &flag;
  }
  return nullptr;
}

// One flag occurrence: the flag and its values ("--x=v" split into name and value).
struct Occurrence {
  const Flag* flag;
  std::vector<std::string> values;
};

absl::Status SplitArgs(const std::vector<std::string>& args, std::vector<Occurrence>* flags,
                       std::vector<std::string>* command) {
  size_t i = 0;
  while (i < args.size()) {
    const std::string& arg = args[i++];
    if (arg == "--") break;
    if (arg.rfind("--", 0) != 0) {
      --i;
      break;
    }
    std::string name = arg;
    std::vector<std::string> values;
    if (size_t eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      values.push_back(arg.substr(eq + 1));
    }
    const Flag* flag = FindFlag(name);
    if (flag == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown flag ", name));
    if (static_cast<int>(values.size()) > flag->arity) {
      return absl::InvalidArgumentError(absl::StrCat(name, " takes no value"));
    }
    while (static_cast<int>(values.size()) < flag->arity) {
      if (i >= args.size()) {
        return absl::InvalidArgumentError(
            absl::StrCat(name, " needs ", flag->arity, flag->arity == 1 ? " value" : " values"));
      }
      values.push_back(args[i++]);
    }
    flags->push_back({flag, std::move(values)});
  }
  command->assign(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<uint64_t> ParseSize(absl::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && absl::ascii_isdigit(static_cast<unsigned char>(text[digits]))) {
    ++digits;
  }
  uint64_t number = 0;
  if (digits == 0 || !absl::SimpleAtoi(text.substr(0, digits), &number)) {
    return absl::InvalidArgumentError(absl::StrCat("not a size: \"", text, "\""));
  }
  std::string suffix = absl::AsciiStrToUpper(text.substr(digits));
  int shift = 0;
  if (suffix.empty() || suffix == "B")
    shift = 0;
  else if (suffix == "K" || suffix == "KB" || suffix == "KI" || suffix == "KIB")
    shift = 10;
  else if (suffix == "M" || suffix == "MB" || suffix == "MI" || suffix == "MIB")
    shift = 20;
  else if (suffix == "G" || suffix == "GB" || suffix == "GI" || suffix == "GIB")
    shift = 30;
  else if (suffix == "T" || suffix == "TB" || suffix == "TI" || suffix == "TIB")
    shift = 40;
  else
    return absl::InvalidArgumentError(absl::StrCat("unknown size suffix in \"", text, "\""));
  if (shift > 0 && number > (UINT64_MAX >> shift)) {
    return absl::InvalidArgumentError(absl::StrCat("size too large: \"", text, "\""));
  }
  return number << shift;
}

absl::StatusOr<v1::SandboxSpec> SpecFromJson(const std::string& json) {
  v1::SandboxSpec spec;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(json, &spec, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("spec JSON: ", status.message().as_string()));
  }
  return spec;
}

absl::StatusOr<v1::SandboxSpec> ParseRunFlags(const std::vector<std::string>& args,
                                              const FileReader& read) {
  std::vector<Occurrence> flags;
  std::vector<std::string> command;
  KURA_RETURN_IF_ERROR(SplitArgs(args, &flags, &command));
  v1::SandboxSpec spec;
  for (const Occurrence& occurrence : flags) {
    if (std::strcmp(occurrence.flag->name, "--spec") != 0) continue;
    KURA_ASSIGN_OR_RETURN(std::string json, read(occurrence.values[0]));
    KURA_ASSIGN_OR_RETURN(spec, SpecFromJson(json));
  }
  for (const Occurrence& occurrence : flags) {
    KURA_RETURN_IF_ERROR(occurrence.flag->set(occurrence.values, &spec));
  }
  if (!command.empty()) {
    spec.clear_argv();
    for (std::string& arg : command) spec.add_argv(std::move(arg));
  }
  if (spec.argv().empty()) return absl::InvalidArgumentError("no command given (after --)");
  return spec;
}

int ExitCodeFor(const v1::SandboxResult& result) {
  switch (result.reason()) {
    case v1::SandboxResult::EXITED:
      return result.exit_code();
    case v1::SandboxResult::SIGNALED:
      return 128 + result.signal();
    case v1::SandboxResult::OOM_KILLED:
      return kExitOomKilled;
    case v1::SandboxResult::WALL_TIME_EXCEEDED:
      return kExitWallTimeExceeded;
    case v1::SandboxResult::KILLED:
      return kExitKilled;
    case v1::SandboxResult::SETUP_FAILED:
    default:
      return kExitSetupFailed;
  }
}

std::string DescribeResult(const v1::SandboxResult& result) {
  switch (result.reason()) {
    case v1::SandboxResult::OOM_KILLED:
      return "kura-sandbox: killed by the OOM killer: the sandbox reached its memory limit";
    case v1::SandboxResult::WALL_TIME_EXCEEDED:
      return "kura-sandbox: killed: the wall-time limit ran out";
    case v1::SandboxResult::KILLED:
      return "kura-sandbox: killed on request";
    case v1::SandboxResult::SETUP_FAILED:
      return absl::StrCat("kura-sandbox: setup failed at step ", result.failed_step(), ": ",
                          std::strerror(result.setup_errno()), " (errno ", result.setup_errno(),
                          ")");
    default:
      return "";
  }
}

const char* RunUsage() {
  return R"(usage: kura-sandbox run [--rootfs DIR | --host-rootfs] [--ro-bind SRC DST]...
          [--bind SRC DST]... [--tmpfs DST SIZE] [--symlink TARGET LINK]... [--dev NODE]...
          [--mount-sys] [--memory SIZE] [--cpus N] [--pids N] [--nofile N] [--disk SIZE]
          [--fsize SIZE] [--wall-time SECONDS] [--uid N] [--gid N] [--env K=V]... [--chdir DIR]
          [--hostname NAME] [--tty] [--seccomp analysis|none|FILE] [--spec FILE] -- CMD [ARG...]

Runs CMD in a new sandbox with full isolation (see docs/sandbox.md). SIZE: 4096, 512K, 512M, 2G.
Exit status: CMD's own; 128+N when a signal N ended it; 250 OOM kill; 251 wall-time kill;
252 setup failure (stderr names the step and errno); 2 bad usage.
)";
}

}  // namespace kura::sandbox
