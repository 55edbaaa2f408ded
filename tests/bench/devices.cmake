# Device benchmarks (not tests): build/bench/bench_disk [DIR] [MiB] and
# tests/bench/devices/bench_vsock.sh; figures in tests/bench/README-devices.md.
add_executable(bench_disk ${CMAKE_CURRENT_SOURCE_DIR}/devices/bench_disk.c)
target_link_libraries(bench_disk PRIVATE smolvm_internals)
set_target_properties(bench_disk PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bench)
