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

// Blocks the signals RunInForeground forwards, in the calling thread and so in every thread it
// starts afterwards (Launch starts some): call it first thing in main, before Launch, or one of
// those threads takes the signal's default action and ends the launcher.
void BlockForwardedSignals();

}  // namespace kura::sandbox
