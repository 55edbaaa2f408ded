# The vm backend end to end: real smoltest driving smolvm templates and
# forks. Needs /dev/kvm (label kvm: CI runs these inside ci/vmhost) and a
# kernel package cached by ci/fetch-kernel; exit 77 without either.
set(_rv_dir ${CMAKE_SOURCE_DIR}/tests/integration/runner_vm)
foreach(_t examples isolation faults hostile hostile_fs noagent)
  smol_add_integration_test(runner_vm_${_t} COMMAND sh ${_rv_dir}/${_t}.sh TIMEOUT 600
    LABELS "runner;kvm")
endforeach()
# Bad input is refused before any VM starts: no KVM needed.
smol_add_integration_test(runner_vm_badinput COMMAND sh ${_rv_dir}/badinput.sh TIMEOUT 120
  LABELS runner)
# virtio-fs under stress-ng and parallel fio against tmpfs (issue 14 item 2):
# minutes of guest time, so opt-in (SMOL_STRESS=1 ctest -L stress) and not
# in the kvm tier.
smol_add_integration_test(runner_vm_fsstress COMMAND sh ${_rv_dir}/hostile_fsstress.sh
  TIMEOUT 2400 LABELS "runner;stress")
