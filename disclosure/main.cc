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
    "                      [--threads N] FILE...\n"
    "exit status: 0 all pass, 1 review needed, 2 something failed, 3 bad input\n";

int BadInput(const std::string& message) {
  std::fprintf(stderr, "kura-sdc: %s\n", message.c_str());
  return kBadInput;
}

}  // namespace

int main(int argc, char** argv) {
  using kura::disclosure::CheckCommand;
  if (argc < 2 || std::strcmp(argv[1], "check") != 0) {
    if (argc >= 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    std::fputs(kUsage, stderr);
    return kBadInput;
  }
  CheckCommand command;
  std::string format = "json";
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    std::string v;
    if (arg == "--schema" || arg == "--policy" || arg == "--spec" || arg == "--format" ||
        arg == "--mitigate" || arg == "--out" || arg == "--threads") {
      if (!value(&v)) return BadInput(absl::StrCat(arg, " needs a value"));
      if (arg == "--schema") command.schema_dir = v;
      if (arg == "--policy") command.policy = v;
      if (arg == "--spec") command.specs.push_back(v);
      if (arg == "--format") format = v;
      if (arg == "--out") command.out_dir = v;
      if (arg == "--mitigate") {
        auto method = kura::disclosure::ParseMitigationMethod(v);
        if (!method.ok()) return BadInput(std::string(method.status().message()));
        command.mitigation = *method;
      }
      if (arg == "--threads" && (!absl::SimpleAtoi(v, &command.options.threads) ||
                                 command.options.threads < 1 || command.options.threads > 64)) {
        return BadInput("--threads: expected 1..64");
      }
    } else if (arg.size() > 1 && arg[0] == '-') {
      return BadInput(absl::StrCat("unknown flag ", arg, "\n", kUsage));
    } else {
      command.files.push_back(arg);
    }
  }
  if (command.schema_dir.empty()) return BadInput("--schema DIR is required");
  if (format != "json" && format != "text") return BadInput("--format: expected json or text");
  auto report = kura::disclosure::RunCheckCommand(command);
  if (!report.ok()) return BadInput(std::string(report.status().message()));
  if (format == "json") {
    const std::string json = kura::disclosure::FormatReportJson(*report);
    std::fwrite(json.data(), 1, json.size(), stdout);
  } else {
    std::fputs(kura::disclosure::FormatReportText(*report).c_str(), stdout);
  }
  // The report is out; tearing down the recomputed tables would only cost time.
  std::fflush(stdout);
  std::_Exit(kura::disclosure::ExitCodeFor(*report));
}
