# VMM core benchmark (not a test): build/bench/bench_vmm SMOLVM [RUNS].
# Figures and the command line are in tests/bench/README-vmm.md.
add_executable(bench_vmm ${CMAKE_CURRENT_SOURCE_DIR}/vmm/bench_vmm.c)
set_target_properties(bench_vmm PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
