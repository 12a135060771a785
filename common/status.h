#pragma once

// The error convention of kura, written down once.
//
// Functions that can fail return absl::Status or absl::StatusOr<T>. A system call's errno is
// turned into a Status exactly where the call is made, with ErrnoError("openat", path), so the
// message names the call and its key argument: "openat(/data/claims): Permission denied".
// Untrusted input gets InvalidArgument with a message that names what was wrong; a broken
// invariant aborts. No exceptions are thrown by kura's code.

#include <cerrno>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define KURA_STATUS_CONCAT_INNER_(a, b) a##b
#define KURA_STATUS_CONCAT_(a, b) KURA_STATUS_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (an absl::Status) is not OK.
#define KURA_RETURN_IF_ERROR(expr)                  \
  do {                                              \
    ::absl::Status kura_status_ = (expr);           \
    if (!kura_status_.ok()) return kura_status_;    \
  } while (0)

// `KURA_ASSIGN_OR_RETURN(auto x, Foo());` assigns the value of an absl::StatusOr or returns its
// error from the enclosing function.
#define KURA_ASSIGN_OR_RETURN(lhs, expr) \
  KURA_ASSIGN_OR_RETURN_IMPL_(KURA_STATUS_CONCAT_(kura_statusor_, __LINE__), lhs, expr)
#define KURA_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return std::move(tmp).status();    \
  lhs = std::move(tmp).value()

namespace kura {

// Converts `error` (an errno value) into a Status whose message reads "call(arg): strerror".
absl::Status ErrnoError(absl::string_view call, absl::string_view arg, int error);

// As above with the current errno.
inline absl::Status ErrnoError(absl::string_view call, absl::string_view arg = {}) {
  return ErrnoError(call, arg, errno);
}

// Returns `status` with `context` and ": " put before its message; the code is kept.
absl::Status Annotate(const absl::Status& status, absl::string_view context);

}  // namespace kura
