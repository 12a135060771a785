#pragma once

// gMock matchers for absl::Status and absl::StatusOr:
//   EXPECT_THAT(DoIt(), IsOk());
//   EXPECT_THAT(Parse(bad), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line 3")));

#include <ostream>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"

namespace kura::testing {

inline const absl::Status& GetStatus(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

MATCHER(IsOk, "is OK") {
  const absl::Status& status = GetStatus(arg);
  if (!status.ok()) *result_listener << "status is " << status;
  return status.ok();
}

MATCHER_P(StatusIs, code, "has code " + ::testing::PrintToString(code)) {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "status is " << status;
  return status.code() == code;
}

MATCHER_P2(StatusIs, code, message_matcher, "") {
  const absl::Status& status = GetStatus(arg);
  *result_listener << "status is " << status;
  return status.code() == code &&
         ::testing::ExplainMatchResult(message_matcher, std::string(status.message()),
                                       result_listener);
}

}  // namespace kura::testing

// Unwraps a StatusOr in a test, failing the test (and returning) when it holds an error.
#define KURA_ASSERT_OK_AND_ASSIGN(lhs, expr)                                          \
  KURA_ASSERT_OK_AND_ASSIGN_IMPL_(KURA_TEST_CONCAT_(kura_test_or_, __LINE__), lhs, expr)
#define KURA_TEST_CONCAT_INNER_(a, b) a##b
#define KURA_TEST_CONCAT_(a, b) KURA_TEST_CONCAT_INNER_(a, b)
#define KURA_ASSERT_OK_AND_ASSIGN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                    \
  ASSERT_TRUE(tmp.ok()) << tmp.status();                \
  lhs = std::move(tmp).value()
