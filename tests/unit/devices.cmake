# virtio devices, layered disk and FUSE server (issue #4).
smol_add_unit_test(disk SOURCES test_disk.c LIBS smolvm_internals)
smol_add_unit_test(fuse SOURCES test_fuse.c LIBS smolvm_internals)
# vq_mock.c: the core's mock split-queue driver (tests/unit/vmm.cmake).
smol_add_unit_test(blk SOURCES test_blk.c ${CMAKE_CURRENT_SOURCE_DIR}/vq_mock.c LIBS smolvm_internals)
smol_add_unit_test(vsock SOURCES test_vsock.c ${CMAKE_CURRENT_SOURCE_DIR}/vq_mock.c LIBS smolvm_internals TIMEOUT 60)
smol_add_unit_test(fsdev SOURCES test_fsdev.c ${CMAKE_CURRENT_SOURCE_DIR}/vq_mock.c LIBS smolvm_internals)
