# virtio devices, layered disk and FUSE server (issue #4).
smol_add_unit_test(disk SOURCES test_disk.c LIBS smolvm)
smol_add_unit_test(fuse SOURCES test_fuse.c LIBS smolvm)
# vq_mock.c: the core's mock split-queue driver (tests/unit/vmm.cmake).
smol_add_unit_test(blk SOURCES test_blk.c ${CMAKE_CURRENT_SOURCE_DIR}/vq_mock.c LIBS smolvm)
smol_add_unit_test(vsock SOURCES test_vsock.c ${CMAKE_CURRENT_SOURCE_DIR}/vq_mock.c LIBS smolvm TIMEOUT 60)
smol_add_unit_test(fsdev SOURCES test_fsdev.c ${CMAKE_CURRENT_SOURCE_DIR}/vq_mock.c LIBS smolvm)
