#pragma once

#include <sys/types.h>

#include <cstdint>

#include "absl/status/status.h"

namespace kura::sandbox {

// First host id of the range sandbox users map to: sandbox uid N is host uid kHostIdBase + N.
// Never host root, and outside the ids of ordinary host accounts.
inline constexpr uint32_t kHostIdBase = 100000;
inline constexpr uint32_t kDefaultSandboxId = 1000;
inline constexpr uint32_t kMaxSandboxId = 65535;

// Launcher side: writes one-line uid/gid maps (uid -> kHostIdBase + uid) for
// the child `pid`, which waits in its new user namespace until they are in place.
absl::Status WriteIdMaps(pid_t pid, uint32_t uid, uint32_t gid);

// Child side, async-signal-safe; each reports the failed step on `sock` and _exits.
// Becomes the sandbox user (the only mapped id) with no supplementary groups, keeping the
// namespace's capabilities for setup.
void AssumeSandboxIdentity(uint32_t uid, uint32_t gid, int sock) noexcept;
// Locks securebits, empties the bounding, ambient, inheritable, permitted and effective sets,
// sets no_new_privs and makes the process non-dumpable.
void DropPrivileges(int sock) noexcept;

}  // namespace kura::sandbox
