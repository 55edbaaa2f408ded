# The vm backend end to end: real smoltest driving smolvm templates and
# forks. Needs /dev/kvm (label kvm: CI runs these inside ci/vmhost) and a
# kernel package cached by ci/fetch-kernel; exit 77 without either.
set(_rv_dir ${CMAKE_SOURCE_DIR}/tests/integration/runner_vm)
foreach(_t examples isolation faults noagent)
  smol_add_integration_test(runner_vm_${_t} COMMAND sh ${_rv_dir}/${_t}.sh TIMEOUT 600
    LABELS "runner;kvm")
endforeach()
# Bad input is refused before any VM starts: no KVM needed.
smol_add_integration_test(runner_vm_badinput COMMAND sh ${_rv_dir}/badinput.sh TIMEOUT 120
  LABELS runner)
