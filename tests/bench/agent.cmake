# Agent round-trip benchmark (not a ctest test: run it by hand, see
# tests/bench/README-agent.md).
add_executable(bench_agent ${CMAKE_CURRENT_SOURCE_DIR}/agent/bench_agent.c)
target_link_libraries(bench_agent PRIVATE smolrunner)
set_target_properties(bench_agent PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
add_dependencies(bench_agent smoltest_agent)
