# LEAK, leak: fail, TAP order and a fail-fast cancel on the vm backend: the
# agent inside the guest reports leaks through the protocol (kvm label: CI
# runs it inside ci/vmhost).
smol_add_integration_test(runner_vm_statuses
  COMMAND sh ${CMAKE_SOURCE_DIR}/tests/integration/runner_vm/statuses.sh TIMEOUT 600
  LABELS "runner;kvm;vm_runner")
