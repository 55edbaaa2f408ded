# Fuzz targets of the VMM core.
smol_add_fuzz_target(vq SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_vq.c LIBS smolvm_internals
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/vq SECONDS 10)
smol_add_fuzz_target(kernel SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_kernel.c LIBS smolvm_internals
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/kernel SECONDS 10)
