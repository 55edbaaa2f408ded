# Reporter integration tests (issue #8): the real reporters' output read by
# xmllint, prove and a JSON parser; `smoltest report merge` end to end; the CI
# files; and prove on the TAP of a real `smoltest run examples/hello.yaml`.
add_executable(reporter_replay reporters/replay.c)
target_include_directories(reporter_replay PRIVATE ${CMAKE_SOURCE_DIR}/tests/unit/golden)
target_link_libraries(reporter_replay PRIVATE smolreport)
set_target_properties(reporter_replay PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

set(_rep_dir ${CMAKE_CURRENT_SOURCE_DIR}/reporters)
smol_add_integration_test(reporters_consumers TIMEOUT 60
  COMMAND ${_rep_dir}/consumers.sh $<TARGET_FILE:reporter_replay>)
smol_add_integration_test(reporters_merge_cli TIMEOUT 60
  COMMAND ${_rep_dir}/merge_cli.sh $<TARGET_FILE:smoltest> $<TARGET_FILE:reporter_replay>)
smol_add_integration_test(reporters_ci_files TIMEOUT 30
  COMMAND ${_rep_dir}/ci_files.sh)
smol_add_integration_test(reporters_prove_run TIMEOUT 240
  COMMAND ${_rep_dir}/prove_run.sh $<TARGET_FILE:smoltest>)
smol_add_integration_test(reporters_pre_push TIMEOUT 120
  COMMAND ${_rep_dir}/pre_push.sh $<TARGET_FILE:smoltest>)
