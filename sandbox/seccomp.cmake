# The `analysis` seccomp profile, compiled once at build time: seccomp_gen runs libseccomp on
# the profile definition (seccomp_profile.cc) and writes the BPF program as a C++ array, which
# kura_sandbox embeds. The same definition is compiled into the library, where a test checks
# that what libseccomp builds now equals what was embedded.
add_executable(seccomp_gen
  ${CMAKE_CURRENT_SOURCE_DIR}/seccomp_gen.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/seccomp_profile.cc
  ${CMAKE_CURRENT_SOURCE_DIR}/seccomp_compiler.cc
)
target_include_directories(seccomp_gen PRIVATE ${PROJECT_SOURCE_DIR})
target_link_libraries(seccomp_gen PRIVATE kura::common PkgConfig::SECCOMP absl::strings)

set(KURA_SECCOMP_ANALYSIS_GEN ${CMAKE_CURRENT_BINARY_DIR}/seccomp_analysis_gen.cc)
add_custom_command(
  OUTPUT ${KURA_SECCOMP_ANALYSIS_GEN}
  COMMAND seccomp_gen ${KURA_SECCOMP_ANALYSIS_GEN}
  DEPENDS seccomp_gen
  COMMENT "Compiling the analysis seccomp profile"
  VERBATIM
)
list(APPEND KURA_SECCOMP_EXTRA_SRCS ${KURA_SECCOMP_ANALYSIS_GEN})
