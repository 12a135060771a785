// kura-synth: writes the deterministic synthetic claims schema (schema.json + claims.csv) that
// kura's tests, benchmarks and demo share.

#include <cstdio>
#include <cstring>
#include <string>

#include "absl/strings/numbers.h"
#include "disclosure/synth.h"

namespace {

constexpr char kUsage[] =
    "usage: kura-synth --out DIR [--rows N] [--seed S] [--patients P] [--name NAME]\n"
    "                  [--data-class anonymized|pseudonymized]\n"
    "  --data-class  the class schema.json declares (default anonymized); kura offers a\n"
    "                pseudonymized schema only at dedicated terminals, with two reviewers\n";

}  // namespace

int main(int argc, char** argv) {
  kura::disclosure::SynthOptions options;
  std::string out;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    bool ok = v != nullptr;
    if (arg == "--rows" && ok) {
      ok = absl::SimpleAtoi(v, &options.rows) && options.rows >= 0;
    } else if (arg == "--seed" && ok) {
      ok = absl::SimpleAtoi(v, &options.seed);
    } else if (arg == "--patients" && ok) {
      ok = absl::SimpleAtoi(v, &options.patients) && options.patients >= 0;
    } else if (arg == "--name" && ok) {
      options.name = v;
    } else if (arg == "--data-class" && ok) {
      const std::string data_class = v;
      if (data_class == "anonymized") {
        options.data_class = kura::disclosure::DataClass::kAnonymized;
      } else if (data_class == "pseudonymized") {
        options.data_class = kura::disclosure::DataClass::kPseudonymized;
      } else {
        std::fprintf(stderr, "kura-synth: --data-class '%s' is not anonymized or pseudonymized\n%s",
                     v, kUsage);
        return 3;
      }
    } else if (arg == "--out" && ok) {
      out = v;
    } else {
      ok = false;
    }
    if (!ok) {
      std::fputs(kUsage, stderr);
      return 3;
    }
    ++i;
  }
  if (out.empty()) {
    std::fprintf(stderr, "kura-synth: --out DIR is required\n");
    return 3;
  }
  absl::Status status = kura::disclosure::WriteSyntheticSchema(out, options);
  if (!status.ok()) {
    std::fprintf(stderr, "kura-synth: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
