# Fuzz target for the JUnit reader behind `smoltest report merge` (issue #8).
# The reader's sources are compiled into the target itself rather than linked
# from smolreport, so that libFuzzer's coverage instrumentation (which only
# applies to the target's own sources) sees the code under test.
smol_add_fuzz_target(junit_merge
  SOURCES fuzz_junit_merge.c ${CMAKE_SOURCE_DIR}/reporters/junit_merge.c
          ${CMAKE_SOURCE_DIR}/reporters/text.c
  LIBS smolcommon PkgConfig::LIBXML2
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/junit_merge SECONDS 8)
target_include_directories(fuzz_junit_merge PRIVATE ${CMAKE_SOURCE_DIR}/reporters)

# The sanitiser all reporters share: output invariants and idempotence.
smol_add_fuzz_target(text_sanitize
  SOURCES fuzz_text_sanitize.c ${CMAKE_SOURCE_DIR}/reporters/text.c
  LIBS smolcommon
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/text_sanitize SECONDS 5)
target_include_directories(fuzz_text_sanitize PRIVATE ${CMAKE_SOURCE_DIR}/reporters)
