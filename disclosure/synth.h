#pragma once

// A deterministic synthetic claims dataset for tests, benchmarks and the demo: patients with a
// fixed prefecture (47, weighted by population), age band, sex and home hospital; claims with an
// ICD-10 code, a year and a cost, a few patients with dominant costs. The same options and seed
// give the same bytes on every machine.

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "disclosure/schema.h"

namespace kura::disclosure {

struct SynthOptions {
  int64_t rows = 100000;
  uint64_t seed = 1;
  int64_t patients = 0;  // 0: rows / 10 (at least 1).
  std::string name = "claims_demo";
  DataClass data_class = DataClass::kAnonymized;  // what the manifest declares
};

// The manifest of the synthetic schema (one table "claims" in claims.csv).
std::string SyntheticSchemaJson(const std::string& name,
                                DataClass data_class = DataClass::kAnonymized);

// Writes `dir`/schema.json and `dir`/claims.csv, creating `dir` if needed.
absl::Status WriteSyntheticSchema(const std::string& dir, const SynthOptions& options);

}  // namespace kura::disclosure
