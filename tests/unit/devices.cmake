# virtio devices, layered disk and FUSE server (issue #4).
smol_add_unit_test(disk SOURCES test_disk.c LIBS smolvm)
