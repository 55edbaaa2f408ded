# The VMM's seccomp filter (DESIGN.md "Process model", docs/hardening.md):
# the BPF builder and installer, and the allowlist.
target_sources(smolvm PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/core/seccomp.c
  ${CMAKE_CURRENT_SOURCE_DIR}/core/seccomp_allow.c)
