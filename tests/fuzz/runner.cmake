# The suite parser and the --tags/--partition parsers (issue #7). The parser
# sources are compiled into the target so that libFuzzer instruments them.
file(GLOB _fuzz_suite_srcs CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/runner/suite/suite*.c)
smol_add_fuzz_target(suite
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_suite.c ${_fuzz_suite_srcs}
          ${CMAKE_SOURCE_DIR}/runner/suite/select.c ${CMAKE_SOURCE_DIR}/runner/suite/suggest.c
  LIBS smolcommon PkgConfig::YAML PkgConfig::PCRE2 PkgConfig::XXHASH
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/suite SECONDS 8)
target_include_directories(fuzz_suite PRIVATE ${CMAKE_SOURCE_DIR}/runner)
