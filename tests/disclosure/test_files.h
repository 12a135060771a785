#pragma once

// Scratch directories and small schemas for the disclosure tests.

#include <stdlib.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "disclosure/json_util.h"
#include "gtest/gtest.h"

namespace kura::disclosure::testing {

// A fresh directory under $TEST_TMPDIR or /tmp, removed at destruction.
class ScratchDir {
 public:
  ScratchDir() {
    const char* base = getenv("TEST_TMPDIR");
    std::string templ = absl::StrCat(base != nullptr ? base : "/tmp", "/kura-sdc-test-XXXXXX");
    char* made = mkdtemp(templ.data());
    EXPECT_NE(made, nullptr);
    path_ = templ;
  }
  ~ScratchDir() { (void)system(absl::StrCat("rm -rf '", path_, "'").c_str()); }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::string& path() const { return path_; }
  std::string Path(const std::string& name) const { return absl::StrCat(path_, "/", name); }

  // Writes `text` to `name` (subdirectories must exist) and returns the full path.
  std::string Write(const std::string& name, const std::string& text) const {
    const std::string p = Path(name);
    EXPECT_TRUE(WriteFile(p, text).ok()) << p;
    return p;
  }
  std::string Mkdir(const std::string& name) const {
    const std::string p = Path(name);
    mkdir(p.c_str(), 0755);
    return p;
  }

 private:
  std::string path_;
};

// The manifest of the small test schema "tiny": table "claims" in claims.csv with columns
// patient_id (unit_id), hospital_id (holding_id), region, sex, age, cost (measure), year.
inline std::string TinyManifest() {
  return R"({"name": "tiny", "data_class": "pseudonymized",
  "tables": [{"name": "claims", "file": "claims.csv", "columns": [
    {"name": "patient_id", "role": "unit_id"}, {"name": "hospital_id", "role": "holding_id"},
    {"name": "region", "role": "quasi_identifier"}, {"name": "sex", "role": "quasi_identifier"},
    {"name": "cost", "role": "measure"}]}]})";
}

inline constexpr char kTinyHeader[] = "patient_id,hospital_id,region,sex,age,cost,year\n";

// One claim row.
struct Claim {
  std::string patient;
  std::string hospital;
  std::string region;
  std::string sex;
  std::string age;
  std::string cost;
  std::string year = "2023";
};

// Writes the tiny schema with `claims` into `dir`/`name` and returns the schema directory.
inline std::string WriteTinySchema(const ScratchDir& dir, const std::vector<Claim>& claims,
                                   const std::string& name = "schema") {
  const std::string root = dir.Mkdir(name);
  dir.Write(name + "/schema.json", TinyManifest());
  std::string csv = kTinyHeader;
  for (const auto& c : claims) {
    absl::StrAppend(&csv, c.patient, ",", c.hospital, ",", c.region, ",", c.sex, ",", c.age, ",",
                    c.cost, ",", c.year, "\n");
  }
  dir.Write(name + "/claims.csv", csv);
  return root;
}

// `n` patients (ids prefix + number) in `region`, each with one claim of `cost`, at hospital
// H1 unless `hospitals` > 1 spreads them round-robin.
inline std::vector<Claim> Patients(const std::string& prefix, int n, const std::string& region,
                                   const std::string& cost = "10", int hospitals = 1,
                                   const std::string& sex = "F") {
  std::vector<Claim> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(Claim{absl::StrCat(prefix, i), absl::StrCat("H", i % hospitals + 1), region, sex,
                        absl::StrCat(30 + i), cost});
  }
  return out;
}

inline std::vector<Claim> Concat(std::vector<std::vector<Claim>> parts) {
  std::vector<Claim> out;
  for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

}  // namespace kura::disclosure::testing
