#pragma once

#include "absl/status/statusor.h"
#include "kura/v1/sandbox.pb.h"
#include "sandbox/sandbox.h"

namespace kura::sandbox {

// Runs `sandbox` as the foreground job of the calling program (kura-sandbox): forwards SIGINT,
// SIGTERM, SIGHUP and SIGQUIT to it and, when it has a terminal, relays bytes between
// `in`/`out` and the pty master (in raw mode when `in` is a terminal) and passes window-size
// changes (SIGWINCH) on. Returns the sandbox's result. Blocks those signals in the calling
// thread while it runs; call it from the main thread of a single-threaded program.
absl::StatusOr<v1::SandboxResult> RunInForeground(Sandbox& sandbox, int in = 0, int out = 1);

}  // namespace kura::sandbox
