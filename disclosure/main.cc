// kura-sdc: the statistical disclosure-control checker's command line. Parses flags and calls
// the library (disclosure/checker.h); exit 0 pass, 1 review, 2 fail, 3 bad input.

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "disclosure/checker.h"
#include "disclosure/report.h"

namespace {

constexpr int kBadInput = 3;

constexpr char kUsage[] =
    "usage: kura-sdc check --schema DIR [--policy NAME|FILE] [--spec SPEC.json]...\n"
    "                      [--format json|text] [--mitigate none|round|suppress --out DIR]\n"
    "                      [--threads N (default: cores, at most 8)] FILE...\n"
    "exit status: 0 all pass, 1 review needed, 2 something failed, 3 bad input\n";

struct Flags {
  kura::disclosure::CheckCommand command;
  std::string format = "json";
};

// Applies one flag with its value; returns an error message or "".
std::string ApplyFlag(const std::string& flag, const std::string& value, Flags& flags) {
  auto& command = flags.command;
  if (flag == "--schema") {
    command.schema_dir = value;
  } else if (flag == "--policy") {
    command.policy = value;
  } else if (flag == "--spec") {
    command.specs.push_back(value);
  } else if (flag == "--out") {
    command.out_dir = value;
  } else if (flag == "--format") {
    if (value != "json" && value != "text") return "--format: expected json or text";
    flags.format = value;
  } else if (flag == "--mitigate") {
    auto method = kura::disclosure::ParseMitigationMethod(value);
    if (!method.ok()) return std::string(method.status().message());
    command.mitigation = *method;
  } else if (flag == "--threads") {
    int& threads = command.options.threads;
    if (!absl::SimpleAtoi(value, &threads) || threads < 1 || threads > 64)
      return "--threads: expected 1..64";
  } else {
    return absl::StrCat("unknown flag ", flag, "\n", kUsage);
  }
  return "";
}

// Parses argv after "check"; returns an error message or "".
std::string ParseFlags(int argc, char** argv, Flags& flags) {
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg.size() < 2 || arg[0] != '-') {
      flags.command.files.push_back(arg);
      continue;
    }
    if (arg.rfind("--", 0) != 0 || i + 1 >= argc)
      return absl::StrCat(arg, " needs a value\n", kUsage);
    std::string error = ApplyFlag(arg, argv[++i], flags);
    if (!error.empty()) return error;
  }
  if (flags.command.schema_dir.empty()) return "--schema DIR is required";
  return "";
}

int BadInput(const std::string& message) {
  std::fprintf(stderr, "kura-sdc: %s\n", message.c_str());
  return kBadInput;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (argc < 2 || std::strcmp(argv[1], "check") != 0) {
    std::fputs(kUsage, stderr);
    return kBadInput;
  }
  Flags flags;
  if (std::string error = ParseFlags(argc, argv, flags); !error.empty()) return BadInput(error);
  auto report = kura::disclosure::RunCheckCommand(flags.command);
  if (!report.ok()) return BadInput(std::string(report.status().message()));
  const std::string out = flags.format == "json" ? kura::disclosure::FormatReportJson(*report)
                                                 : kura::disclosure::FormatReportText(*report);
  std::fwrite(out.data(), 1, out.size(), stdout);
  // The report is out; tearing down the recomputed tables would only cost time.
  std::fflush(stdout);
  std::_Exit(kura::disclosure::ExitCodeFor(*report));
}
