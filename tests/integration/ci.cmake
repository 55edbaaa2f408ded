# The repository's own scripts under ci/ that need no /dev/kvm.
smol_add_integration_test(ci_hung_stack
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/ci/hung_stack.sh TIMEOUT 60 LABELS "ci")
