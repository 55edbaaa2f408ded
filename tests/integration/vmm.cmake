# Integration tests of the VMM core: the probe guest end to end, and the
# ACPI tables through `iasl -d`.
add_executable(vmm_acpi_dump vmm_acpi_dump.c)
target_link_libraries(vmm_acpi_dump PRIVATE smolvm)
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
# A real Linux boot, only when SMOL_TEST_KERNEL names a kernel (skips 77
# otherwise).
smol_add_integration_test(vmm_linux
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/vmm_linux.sh $<TARGET_FILE:smolvm_cli>
  TIMEOUT 400 LABELS "kvm;linux")
