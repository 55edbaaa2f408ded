# virtio devices, layered disk and FUSE server (issue #4).
smol_add_unit_test(disk SOURCES test_disk.c LIBS smolvm)
smol_add_unit_test(fuse SOURCES test_fuse.c LIBS smolvm)
