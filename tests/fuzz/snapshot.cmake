# The .smolsnap header/section-table parser (issue 5).
smol_add_fuzz_target(snap_parse SOURCES fuzz_snap_parse.c LIBS smolvm_internals
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/snap_parse SECONDS 10)
