#pragma once

namespace kura::sandbox {

// Child side, in the sandbox's fresh network namespace: brings the loopback interface up. It is
// the only interface there; nothing connects the namespace to the host. Async-signal-safe;
// reports the failure on `sock` and _exits.
void BringUpLoopback(int sock) noexcept;

}  // namespace kura::sandbox
