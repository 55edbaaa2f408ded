# Unit tests of the VMM core. vq_mock.c (the mock split-queue driver) is
# compiled into every test that needs it; other areas add it to theirs.
set(SMOL_VQ_MOCK ${CMAKE_CURRENT_SOURCE_DIR}/vq_mock.c)
smol_add_unit_test(vq SOURCES test_vq.c ${SMOL_VQ_MOCK} LIBS smolvm)
smol_add_unit_test(gmem SOURCES test_gmem.c LIBS smolvm)
smol_add_unit_test(boot SOURCES test_boot.c LIBS smolvm)
smol_add_unit_test(acpi SOURCES test_acpi.c LIBS smolvm)
