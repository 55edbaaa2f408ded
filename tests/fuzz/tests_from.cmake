# What a tests_from lister prints and the names a cache entry keeps
# (runner/suite/suite_lister.c), both hostile, and their expansion into
# tests. The suite's sources are compiled into the target so that
# libFuzzer instruments them.
file(GLOB _fuzz_lister_srcs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/runner/suite/suite*.c)
smol_add_fuzz_target(tests_from
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_tests_from.c ${_fuzz_lister_srcs}
          ${CMAKE_SOURCE_DIR}/runner/suite/suggest.c
  LIBS smolcommon PkgConfig::YAML PkgConfig::PCRE2 PkgConfig::XXHASH
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/tests_from SECONDS 8)
target_include_directories(fuzz_tests_from PRIVATE ${CMAKE_SOURCE_DIR}/runner)
