#pragma once

#include <string>

#include "node/workspace_layout.h"

namespace kura::node {

// What `kura-node supervise` is started with.
struct SupervisorOptions {
  NodeDirs dirs;
  std::string workspace_id;
};

// The supervisor of one workspace: a process of its own (started by the agent with posix_spawn,
// in a new session, then detached by a second fork so that it outlives the agent) that launches
// the workspace's sandbox, keeps its persistent shell's PTY and serves the agent on
// <run>/workspaces/<id>.sock (0600). Requests on that socket, one per connection (node/wire.h):
//   ["status"]                          -> ["ok", created_unix, last_active_unix, attached, jobs]
//   ["attach", rows, cols, n_env, env..., argv...]
//                                       -> ["ok"] + PTY master; later ["exit", code] or
//                                          ["detached"] when another attach takes the shell over
//   ["job", cwd, n_env, env..., argv...] -> ["ok"] + stdin, stdout, stderr; later ["exit", code]
//   ["close", reason]                   -> ["ok"], then the sandbox is killed
// An empty attach argv is the workspace's shell, which survives detaching; any other argv is a
// one-off terminal process. Closing a job's connection kills the job. With an idle timeout, a
// workspace with nothing attached and no job running for that long is closed.
// Single-threaded (one poll loop), so it may fork.
//
// Returns the process's exit code; it does not return before the workspace ends.
int RunSupervisor(const SupervisorOptions& options);

}  // namespace kura::node
