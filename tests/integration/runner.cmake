# The runner end to end: real smoltest + agent through the sandbox backend.
# Needs root, overlayfs and namespaces (exit 77 = skipped otherwise).
set(_rt_dir ${CMAKE_SOURCE_DIR}/tests/integration/runner)
set(_rt_env "SMOLTEST_AGENT=${SMOL_AGENT_TEST_BIN}")
foreach(_t hello cli cache sigint behaviour isolation endings failure setup reuse statuses
    tests_from)
  smol_add_integration_test(runner_${_t} COMMAND sh ${_rt_dir}/${_t}.sh TIMEOUT 120 LABELS runner)
  set_tests_properties(integration/runner_${_t} PROPERTIES ENVIRONMENT
    "SMOL_SOURCE_DIR=${CMAKE_SOURCE_DIR};SMOL_BUILD_DIR=${CMAKE_BINARY_DIR};${_rt_env}")
endforeach()
smol_add_integration_test(runner_monitor
  COMMAND sh ${_rt_dir}/monitor.sh $<TARGET_FILE:smoltest> ${SMOL_AGENT_TEST_BIN}
  TIMEOUT 60 LABELS runner)
# Tests that attack their own sandbox (issue 14 item 3): a fork bomb, OOM,
# a full disk, a daemon, kill -9 -1, artifacts past artifacts_max.
smol_add_integration_test(runner_hostile COMMAND sh ${_rt_dir}/hostile.sh TIMEOUT 180 LABELS runner)
set_tests_properties(integration/runner_hostile PROPERTIES ENVIRONMENT
  "SMOL_SOURCE_DIR=${CMAKE_SOURCE_DIR};SMOL_BUILD_DIR=${CMAKE_BINARY_DIR};${_rt_env}")
# examples/port/: four suites of other tools ported, each run as it is and
# broken on purpose (cmake builds twice: a longer limit)
smol_add_integration_test(runner_port COMMAND sh ${_rt_dir}/port.sh TIMEOUT 300 LABELS runner)
set_tests_properties(integration/runner_port PROPERTIES ENVIRONMENT
  "SMOL_SOURCE_DIR=${CMAKE_SOURCE_DIR};SMOL_BUILD_DIR=${CMAKE_BINARY_DIR};${_rt_env}")
# tests_from on the vm backend (needs /dev/kvm: the kvm tier, inside ci/vmhost)
smol_add_integration_test(runner_vm_tests_from COMMAND sh ${_rt_dir}/tests_from_vm.sh
  TIMEOUT 600 LABELS "runner;kvm;vm_runner")
