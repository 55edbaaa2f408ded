# Helpers shared by every directory's CMakeLists.txt.

# Fuzzing needs clang's libFuzzer; AUTO turns it on when the compiler has it.
if(SMOL_FUZZ STREQUAL "AUTO")
  include(CheckCSourceCompiles)
  set(CMAKE_REQUIRED_FLAGS "-fsanitize=fuzzer")
  check_c_source_compiles("
    #include <stddef.h>
    #include <stdint.h>
    int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }"
    SMOL_HAVE_LIBFUZZER)
  unset(CMAKE_REQUIRED_FLAGS)
  # AUTO fuzzes only in sanitizer builds: release binaries stay free of
  # coverage instrumentation.
  if(SMOL_HAVE_LIBFUZZER AND SMOL_SANITIZE)
    set(SMOL_FUZZ_ENABLED ON)
  else()
    set(SMOL_FUZZ_ENABLED OFF)
  endif()
else()
  set(SMOL_FUZZ_ENABLED ${SMOL_FUZZ})
endif()

# libFuzzer only sees coverage in code compiled with sanitizer-coverage
# instrumentation. Instrument every library (not just each fuzz target's own
# file) so that fuzzers explore the parsers they call. The probe guest and the
# static agent reset or bypass these flags.
if(SMOL_FUZZ_ENABLED)
  add_compile_options(-fsanitize=fuzzer-no-link)
  add_link_options(-fsanitize=fuzzer-no-link)
endif()

# smol_add_unit_test(NAME SOURCES src... LIBS lib...)
# Builds a Check test executable test_NAME and registers it with ctest as
# unit/NAME. Tests run from the build directory with SMOL_SOURCE_DIR and
# SMOL_BUILD_DIR in the environment.
function(smol_add_unit_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(test_${name} ${T_SOURCES})
  target_link_libraries(test_${name} PRIVATE ${T_LIBS} PkgConfig::CHECK Threads::Threads)
  set_target_properties(test_${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  add_test(NAME unit/${name} COMMAND test_${name})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 120)
  endif()
  set_tests_properties(unit/${name} PROPERTIES TIMEOUT ${T_TIMEOUT} LABELS "unit;${T_LABELS}"
    ENVIRONMENT "SMOL_SOURCE_DIR=${CMAKE_SOURCE_DIR};SMOL_BUILD_DIR=${CMAKE_BINARY_DIR};CK_DEFAULT_TIMEOUT=60")
endfunction()

# smol_add_integration_test(NAME COMMAND cmd args... [DEPENDS targets] [TIMEOUT s])
# Registers a test that drives the real binaries, as integration/NAME.
function(smol_add_integration_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "COMMAND;LABELS" ${ARGN})
  add_test(NAME integration/${name} COMMAND ${T_COMMAND} WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(integration/${name} PROPERTIES TIMEOUT ${T_TIMEOUT}
    LABELS "integration;${T_LABELS}" SKIP_RETURN_CODE 77
    ENVIRONMENT "SMOL_SOURCE_DIR=${CMAKE_SOURCE_DIR};SMOL_BUILD_DIR=${CMAKE_BINARY_DIR}")
endfunction()

# smol_add_fuzz_target(NAME SOURCES src... LIBS lib... [CORPUS dir] [RUNS n])
# With libFuzzer: builds fuzz_NAME and registers a short run (fuzz/NAME) with
# ctest. Without it: builds a replay driver that runs the seed corpus, so the
# target still compiles and the seeds still execute everywhere.
function(smol_add_fuzz_target name)
  cmake_parse_arguments(T "" "CORPUS;SECONDS" "SOURCES;LIBS" ${ARGN})
  if(NOT T_SECONDS)
    set(T_SECONDS 10)
  endif()
  if(SMOL_FUZZ_ENABLED)
    add_executable(fuzz_${name} ${T_SOURCES})
    target_compile_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(fuzz_${name} PRIVATE -fsanitize=fuzzer)
    set(args -max_total_time=${T_SECONDS} -rss_limit_mb=1024)
  else()
    add_executable(fuzz_${name} ${T_SOURCES} ${CMAKE_SOURCE_DIR}/tests/fuzz/replay_main.c)
    set(args)
  endif()
  target_link_libraries(fuzz_${name} PRIVATE ${T_LIBS})
  set_target_properties(fuzz_${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/fuzz)
  set(corpus_args)
  if(T_CORPUS)
    # libFuzzer writes new inputs into the first corpus dir: give it a scratch
    # copy so the source tree stays clean.
    set(scratch ${CMAKE_BINARY_DIR}/fuzz/corpus_${name})
    set(corpus_args ${scratch} ${T_CORPUS})
    add_test(NAME fuzz/${name}
      COMMAND sh -c "mkdir -p '${scratch}' && exec \"$0\" \"$@\"" $<TARGET_FILE:fuzz_${name}> ${args} ${corpus_args})
  else()
    set(scratch ${CMAKE_BINARY_DIR}/fuzz/corpus_${name})
    add_test(NAME fuzz/${name}
      COMMAND sh -c "mkdir -p '${scratch}' && exec \"$0\" \"$@\"" $<TARGET_FILE:fuzz_${name}> ${args} ${scratch})
  endif()
  set_tests_properties(fuzz/${name} PROPERTIES TIMEOUT 300 LABELS fuzz)
endfunction()

# Includes every *.cmake fragment in the current source directory, sorted.
macro(smol_include_fragments)
  file(GLOB _frags CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/*.cmake)
  list(SORT _frags)
  foreach(_f ${_frags})
    include(${_f})
  endforeach()
endmacro()
