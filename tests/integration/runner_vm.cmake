# The vm backend end to end: real smoltest driving smolvm templates and
# forks. Needs /dev/kvm (label kvm: CI runs these inside ci/vmhost) and a
# kernel package cached by ci/fetch-kernel; exit 77 without either.
set(_rv_dir ${CMAKE_SOURCE_DIR}/tests/integration/runner_vm)
# vm_runner: whole suites through smoltest; ci/test --sanitize leaves them
# out of its kvm tier (runner_vm_hostile stays: it attacks smolvm).
foreach(_t examples isolation faults noagent rootfs)
  smol_add_integration_test(runner_vm_${_t} COMMAND sh ${_rv_dir}/${_t}.sh TIMEOUT 600
    LABELS "runner;kvm;vm_runner")
endforeach()
foreach(_t hostile)
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
# virtio-fs escapes (issue 14 item 4): under a minute inside ci/vmhost.
smol_add_integration_test(runner_vm_hostile_fs COMMAND sh ${_rv_dir}/hostile_fs.sh
  TIMEOUT 300 LABELS "runner;kvm")
