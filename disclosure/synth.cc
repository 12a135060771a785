#include "disclosure/synth.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/unique_fd.h"
#include "disclosure/json_util.h"

namespace kura::disclosure {
namespace {

// Population of each prefecture (JIS 01..47), in units of 10,000, roughly.
constexpr int kPrefectureWeights[47] = {520,  120, 120, 230, 100, 110, 180, 290, 190, 190, 730, 630,
                                        1400, 920, 220, 100, 110, 80,  80,  200, 200, 360, 750, 180,
                                        140,  260, 880, 540, 130, 90,  55,  66,  190, 280, 130, 70,
                                        95,   130, 70,  510, 80,  130, 170, 110, 110, 160, 150};
constexpr const char* kAgeBands[] = {"0-14", "15-39", "40-64", "65-74", "75-84", "85+"};
constexpr int kAgeWeights[] = {12, 25, 33, 14, 11, 5};
constexpr const char* kCodes[] = {"E11", "I10", "J45", "C34", "F32"};
constexpr int kCodeWeights[] = {30, 35, 15, 5, 15};
constexpr int kCodeBaseCost[] = {8000, 5000, 6000, 60000, 7000};
constexpr int kHospitalsPerPrefecture = 10;
constexpr int kFirstYear = 2019;
constexpr int kYears = 5;

uint64_t Mix(uint64_t x) {  // splitmix64 finaliser
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

template <size_t N>
int Pick(const int (&weights)[N], uint64_t r) {
  int total = 0;
  for (int w : weights) total += w;
  int x = static_cast<int>(r % static_cast<uint64_t>(total));
  for (size_t i = 0; i < N; ++i) {
    if (x < weights[i]) return static_cast<int>(i);
    x -= weights[i];
  }
  return static_cast<int>(N - 1);
}

struct Patient {
  uint8_t prefecture;  // 0..46
  uint8_t age;
  uint8_t sex;  // 0 F, 1 M
  uint8_t main_code;
  uint16_t hospital;
  bool dominant;
};

Patient MakePatient(uint64_t seed, int64_t i) {
  const uint64_t h = Mix(seed ^ Mix(static_cast<uint64_t>(i) * 2 + 1));
  Patient p;
  p.prefecture = static_cast<uint8_t>(Pick(kPrefectureWeights, h));
  p.age = static_cast<uint8_t>(Pick(kAgeWeights, h >> 20));
  p.sex = static_cast<uint8_t>((h >> 30) & 1);
  p.main_code = static_cast<uint8_t>(Pick(kCodeWeights, h >> 32));
  p.hospital = static_cast<uint16_t>(p.prefecture * kHospitalsPerPrefecture +
                                     ((h >> 44) % kHospitalsPerPrefecture));
  p.dominant = (h >> 52) % 250 == 0;
  return p;
}

void AppendPadded(std::string& out, char prefix, uint64_t value, int width) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + value % 10);
    value /= 10;
  } while (value > 0);
  out.push_back(prefix);
  for (int i = n; i < width; ++i) out.push_back('0');
  while (n > 0) out.push_back(digits[--n]);
}

void AppendClaim(std::string& out, const std::vector<Patient>& patients, uint64_t seed,
                 int64_t row) {
  const uint64_t h = Mix(seed ^ Mix(static_cast<uint64_t>(row) * 2));
  const int64_t id = static_cast<int64_t>(h % patients.size());
  const Patient& p = patients[static_cast<size_t>(id)];
  const uint64_t h2 = Mix(h);
  const int code = (h2 % 10) < 7 ? p.main_code : Pick(kCodeWeights, h2 >> 8);
  const int year = kFirstYear + static_cast<int>((h2 >> 24) % kYears);
  const uint64_t f1 = (h2 >> 32) % 1000, f2 = (h2 >> 42) % 1000;
  uint64_t cost = static_cast<uint64_t>(kCodeBaseCost[code]) * (200 + f1 * f2 / 400) / 1000;
  if (p.dominant) cost *= 50;
  AppendPadded(out, 'P', static_cast<uint64_t>(id), 7);
  out.push_back(',');
  AppendPadded(out, 'H', p.hospital, 4);
  AppendPadded(out, ',', static_cast<uint64_t>(p.prefecture + 1), 2);  // JIS code, "01".."47".
  out.push_back(',');
  out += kAgeBands[p.age];
  out += p.sex ? ",M," : ",F,";
  out += kCodes[code];
  out.push_back(',');
  out += std::to_string(year);
  out.push_back(',');
  out += std::to_string(cost);
  out.push_back('\n');
}

}  // namespace

std::string SyntheticSchemaJson(const std::string& name, DataClass data_class) {
  return absl::StrCat(R"({"name": ")", name, R"(", "data_class": ")", DataClassName(data_class),
                      R"(",
 "tables": [{"name": "claims", "file": "claims.csv",
             "columns": [{"name": "patient_id", "role": "unit_id"},
                         {"name": "hospital_id", "role": "holding_id"},
                         {"name": "prefecture", "role": "quasi_identifier"},
                         {"name": "age_band", "role": "quasi_identifier"},
                         {"name": "sex", "role": "quasi_identifier"},
                         {"name": "icd10", "role": "sensitive"},
                         {"name": "year", "role": "quasi_identifier"},
                         {"name": "cost", "role": "measure"}]}]}
)");
}

absl::Status WriteSyntheticSchema(const std::string& dir, const SynthOptions& options) {
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoError("mkdir", dir);
  KURA_RETURN_IF_ERROR(WriteFile(absl::StrCat(dir, "/schema.json"),
                                 SyntheticSchemaJson(options.name, options.data_class)));
  const int64_t count =
      options.patients > 0 ? options.patients : std::max<int64_t>(1, options.rows / 10);
  std::vector<Patient> patients;
  patients.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) patients.push_back(MakePatient(options.seed, i));
  const std::string path = absl::StrCat(dir, "/claims.csv");
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return ErrnoError("open", path);
  std::string buffer = "patient_id,hospital_id,prefecture,age_band,sex,icd10,year,cost\n";
  auto flush = [&]() -> absl::Status {
    size_t done = 0;
    while (done < buffer.size()) {
      const ssize_t n = ::write(fd.get(), buffer.data() + done, buffer.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError("write", path);
      done += static_cast<size_t>(n);
    }
    buffer.clear();
    return absl::OkStatus();
  };
  for (int64_t row = 0; row < options.rows; ++row) {
    AppendClaim(buffer, patients, options.seed, row);
    if (buffer.size() > (1u << 20)) KURA_RETURN_IF_ERROR(flush());
  }
  return flush();
}

}  // namespace kura::disclosure
