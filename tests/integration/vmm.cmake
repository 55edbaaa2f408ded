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
# Out of quarantine since stop 19. Its guest had stopped answering now and
# then inside ci/vmhost (2 of 5 ASan runs at stop 13, once in the Release
# tier at stop 19 after 14 passes in a row in a fresh test host): the
# vCPU spinning with interrupts off in native_queued_spin_lock_slowpath <-
# scheduler_tick <- tick_handle_periodic <- sysvec_apic_timer_interrupt, on
# the runqueue lock of the only CPU, which only the interrupted scheduler
# can hold, with interrupts off: the timer interrupt was delivered into an
# interrupts-off section, by the test host's KVM (smolvm's LAPIC is KVM's)
# on QEMU 7.2's emulated SVM. Not seen since ci/bootstrap takes QEMU 10.0
# from bookworm-backports on Debian 12. On a stall the test prints the vCPU's
# registers, the words they point at and its stack (smolvm snapshot info).
smol_add_integration_test(vsock_stress
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/linux/vsock_stress.sh $<TARGET_FILE:smolvm_cli>
          $<TARGET_FILE:smoltest>
  TIMEOUT 900 LABELS "kvm;linux")
