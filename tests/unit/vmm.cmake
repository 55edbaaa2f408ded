# Unit tests of the VMM core. vq_mock.c (the mock split-queue driver) is
# compiled into every test that needs it; other areas add it to theirs.
set(SMOL_VQ_MOCK ${CMAKE_CURRENT_SOURCE_DIR}/vq_mock.c)
smol_add_unit_test(vq SOURCES test_vq.c ${SMOL_VQ_MOCK} LIBS smolvm_internals)
# The transport's snapshot blob, without a VM (host tier).
smol_add_unit_test(vmmio_state SOURCES test_vmmio_state.c LIBS smolvm_internals)
smol_add_unit_test(gmem SOURCES test_gmem.c LIBS smolvm_internals)
# KVM_GET_STATS_FD's layout, read from crafted files (host tier).
smol_add_unit_test(vm_stats SOURCES test_vm_stats.c LIBS smolvm_internals)
smol_add_unit_test(boot SOURCES test_boot.c LIBS smolvm_internals)
smol_add_unit_test(acpi SOURCES test_acpi.c LIBS smolvm_internals)
# Drives the transport as a guest driver would, in a real (never-run) KVM
# VM: skipped (77) where /dev/kvm is not usable.
smol_add_unit_test(vmmio SOURCES test_vmmio.c LIBS smolvm_internals LABELS kvm)
set_tests_properties(unit/vmmio PROPERTIES SKIP_RETURN_CODE 77)
smol_add_unit_test(serial SOURCES test_serial.c LIBS smolvm_internals LABELS kvm)
set_tests_properties(unit/serial PROPERTIES SKIP_RETURN_CODE 77)
# The devices' attach() errors through vm_create: needs /dev/kvm.
smol_add_unit_test(vm_attach SOURCES test_vm_attach.c LIBS smolvm_internals LABELS kvm)
set_tests_properties(unit/vm_attach PROPERTIES SKIP_RETURN_CODE 77)
# vm_create's config errors, before KVM is touched (host tier).
smol_add_unit_test(vm SOURCES test_vm.c LIBS smolvm_internals)
smol_add_unit_test(evloop SOURCES test_evloop.c LIBS smolvm_internals)
smol_add_unit_test(i8042 SOURCES test_i8042.c LIBS smolvm_internals)
