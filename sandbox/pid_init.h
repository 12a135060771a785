#pragma once

#include <sys/types.h>

#include "sandbox/child_plan.h"

namespace kura::sandbox {

// The workload's side, in the child init forked: sets up its terminal or stdio, closes every
// other descriptor, installs the seccomp filter, hands the filter's listener to the launcher and
// executes the command. Never returns; a failure is reported and the process _exits.
[[noreturn]] void ExecWorkload(const ChildPlan& plan) noexcept;

// The minimal init, PID 1 of the sandbox: reaps every orphan, forwards the signals it gets to
// the workload, and when the workload ends reports its wait status to the launcher and exits
// (which kills whatever is left in the PID namespace). Exits with the workload's code, or 128+N.
[[noreturn]] void SuperviseWorkload(pid_t workload, const ChildPlan& plan) noexcept;

}  // namespace kura::sandbox
