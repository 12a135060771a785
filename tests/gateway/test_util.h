#pragma once

// Helpers shared by the gateway tests: a temporary directory removed afterwards and a fixed
// point in time, so no test depends on the wall clock.

#include <ftw.h>
#include <stdlib.h>

#include <string>

#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"

namespace kura::gateway::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir final {
 public:
  TempDir() {
    const char* base = getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/kura-gw-XXXXXX";
    char* made = mkdtemp(pattern.data());
    if (made == nullptr) abort();
    path_ = made;
  }
  ~TempDir() {
    nftw(
        path_.c_str(),
        [](const char* p, const struct stat*, int, struct FTW*) { return ::remove(p); }, 16,
        FTW_DEPTH | FTW_PHYS);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// 2026-04-01 09:00:00 UTC: the "now" of the gateway tests.
inline absl::Time TestNow() {
  return absl::FromCivil(absl::CivilSecond(2026, 4, 1, 9, 0, 0), absl::UTCTimeZone());
}

// EXPECT_THAT(store.ListFoo(), IsOkAndHolds(ElementsAre(...)));
MATCHER_P(IsOkAndHolds, matcher, "") {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  return ::testing::ExplainMatchResult(matcher, *arg, result_listener);
}

}  // namespace kura::gateway::testing
