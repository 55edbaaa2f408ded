# The agent over a Unix socket: the real binary (static, or the sanitized
# native build under SMOL_SANITIZE), driven by the host client library and
# by `smoltest exec`.
add_executable(agent_itest ${CMAKE_CURRENT_SOURCE_DIR}/agent/agent_itest.c)
target_link_libraries(agent_itest PRIVATE smolrunner)
set_target_properties(agent_itest PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
add_dependencies(agent_itest smoltest_agent smoltest-agent-native)

smol_add_integration_test(agent
  COMMAND $<TARGET_FILE:agent_itest> ${SMOL_AGENT_TEST_BIN} TIMEOUT 180)
smol_add_integration_test(agent_exec_cli
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/agent/exec_cli.sh $<TARGET_FILE:smoltest> ${SMOL_AGENT_TEST_BIN}
  TIMEOUT 120)
if(SMOL_STATIC_AGENT)
  smol_add_integration_test(agent_static
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/agent/check_static.sh ${SMOL_AGENT_BIN} TIMEOUT 30)
endif()
# The VM-init path (mounts, lo, reaping as PID 1) in fresh namespaces.
smol_add_integration_test(agent_vm_init
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/agent/vm_init.sh $<TARGET_FILE:smoltest> ${SMOL_AGENT_TEST_BIN}
  TIMEOUT 60)
