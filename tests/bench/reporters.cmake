# Reporter cost per result and report-merge cost (not a ctest test: run it by
# hand, see tests/bench/README-reporters.md).
add_executable(bench_reporters ${CMAKE_CURRENT_SOURCE_DIR}/reporters/bench_reporters.c)
target_link_libraries(bench_reporters PRIVATE smolreport)
set_target_properties(bench_reporters PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
