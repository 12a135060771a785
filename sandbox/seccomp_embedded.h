#pragma once

#include <linux/filter.h>

#include <cstddef>

namespace kura::sandbox::internal {

// The `analysis` profile compiled at build time by seccomp_gen (sandbox/seccomp.cmake), so
// that starting a sandbox never pays libseccomp's cost. Defined in the generated
// seccomp_analysis_gen.cc.
extern const sock_filter kAnalysisProgram[];
extern const size_t kAnalysisProgramSize;

}  // namespace kura::sandbox::internal
