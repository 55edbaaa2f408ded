# Integration tests of the VMM core: the probe guest end to end, and the
# ACPI tables through `iasl -d`.
add_executable(vmm_acpi_dump vmm_acpi_dump.c)
target_link_libraries(vmm_acpi_dump PRIVATE smolvm_internals)
set_target_properties(vmm_acpi_dump PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)

smol_add_integration_test(vmm_acpi_iasl
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/vmm_iasl.sh $<TARGET_FILE:vmm_acpi_dump>
  TIMEOUT 60)
if(TARGET probe)
  smol_add_integration_test(vmm_probe
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/vmm_probe.sh $<TARGET_FILE:smolvm_cli>
            $<TARGET_FILE:probe>
    TIMEOUT 120 LABELS kvm)
endif()
# The Linux guest end to end (vmm_linux.sh): the cloud kernel from
# ci/fetch-kernel with the initramfs of `smoltest image build`, agent EXEC
# over vsock, virtio-fs, virtio-blk with a layer, snapshot, 3 forks, SHUTDOWN.
add_executable(agentctl ${CMAKE_CURRENT_SOURCE_DIR}/linux/agentctl.c)
target_link_libraries(agentctl PRIVATE smolrunner)
set_target_properties(agentctl PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
add_dependencies(agentctl smoltest_agent)
smol_add_integration_test(vmm_linux
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/vmm_linux.sh $<TARGET_FILE:smolvm_cli>
          $<TARGET_FILE:smoltest> $<TARGET_FILE:agentctl> $<TARGET_FILE:snaptool>
  TIMEOUT 900 LABELS "kvm;linux")
# vsock under hostile load from a Linux guest (issue 14 item 2): 64 streams
# both ways with a slow host reader, a guest that never reads, a guest that
# floods, kill -9 in the middle (vsock_stress.sh).
# Out of quarantine since stop 19: its guest had stopped answering in 2 of 5
# runs with an ASan smolvm and once in the Release tier (a vCPU spinning in
# native_queued_spin_lock_slowpath with interrupts off on its IRQ stack),
# all before ci/vmhost's heartbeat nudge woke the test host from QEMU's
# lost timer interrupt; since then 21 of 21 passed: the Release tier at
# stop 16, 6 ASan runs at stop 17 and 14 in one test host at stop 19
# (7 Release, 7 ASan, 68-74 s each). On a stall it prints the vCPU's
# registers, the words they point at and its stack (smolvm snapshot info).
smol_add_integration_test(vsock_stress
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/linux/vsock_stress.sh $<TARGET_FILE:smolvm_cli>
          $<TARGET_FILE:smoltest>
  TIMEOUT 900 LABELS "kvm;linux")
