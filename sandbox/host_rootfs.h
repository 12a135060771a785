#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "sandbox/mounts.h"

namespace kura::sandbox {

// The /etc entries of the host that --host-rootfs exposes (read-only), relative to /etc: what
// the dynamic loader, TLS, time zones, Python and R need. Never shadow, gshadow, sudoers, ssh
// keys, machine-id or anything under /root or /home. passwd, group, hosts, hostname and
// nsswitch.conf are synthesized for the sandbox instead of taken from the host.
const std::vector<std::string>& HostRootfsEtcEntries();

// Appends to `plan` the host's /usr, /bin, /sbin and /lib* (read-only binds, or the same
// symlinks where the host has merged-/usr symlinks), the /etc entries above and the synthesized
// /etc files for the sandbox user `uid`/`gid` and `hostname`.
absl::Status AddHostRootfs(uint32_t uid, uint32_t gid, const std::string& hostname,
                           MountPlan* plan);

}  // namespace kura::sandbox
