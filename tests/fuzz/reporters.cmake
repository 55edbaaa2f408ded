# Fuzz target for the JUnit reader behind `smoltest report merge` (issue #8).
smol_add_fuzz_target(junit_merge SOURCES fuzz_junit_merge.c LIBS smolreport
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/junit_merge SECONDS 8)
