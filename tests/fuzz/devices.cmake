# Fuzz targets for the layered disk and the FUSE request handler (issue #4).
smol_add_fuzz_target(disk SOURCES fuzz_disk.c LIBS smolvm_internals
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/disk SECONDS 8)
smol_add_fuzz_target(fuse SOURCES fuzz_fuse.c LIBS smolvm_internals
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/fuse SECONDS 8)
