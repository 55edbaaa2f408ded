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
# quarantine (both kvm tiers of ci/test leave it out; SMOL_QUARANTINE=1
# runs it), issue 14. It passes in a fresh test host (14 of 14 at stop 19,
# 7 with the ASan smolvm, 68-74 s; 3 of 3 under QEMU 10.0) but its guest
# stalled in 2 of 4 runs after a whole kvm tier in the same test host at
# stop 19, once under Debian's QEMU 7.2, once under bookworm-backports'
# 10.0. Both
# times smolvm's queues were drained and its one vCPU spun with
# interrupts off in native_queued_spin_lock_slowpath+0x69 <- _raw_spin_lock
# <- scheduler_tick (and <- try_to_wake_up <- hrtimer_wakeup) <-
# tick_handle_periodic <- sysvec_apic_timer_interrupt, on the runqueue lock
# of that only CPU (rbp 0x31980, the per-CPU offset of runqueues): only
# the interrupted code can hold it, and only with interrupts off, so the
# timer interrupt was delivered into an interrupts-off section. smolvm's
# LAPIC, IOAPIC and PIT are KVM's and it sets no vCPU state in a cold run:
# the delivery is the test host's KVM on QEMU's emulated SVM. The fork
# stall (stops 14-16) and runner_vm_hostile's "the guest kernel hung" under
# its fork bomb spin at the same instruction. On a stall the test prints
# the vCPU's registers, the words they point at and its stack, and keeps
# the snapshot in SMOLTEST_KEEP_HUNG (for ci/hung-stack).
smol_add_integration_test(vsock_stress
  COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/linux/vsock_stress.sh $<TARGET_FILE:smolvm_cli>
          $<TARGET_FILE:smoltest>
  TIMEOUT 900 LABELS "kvm;linux;quarantine")
