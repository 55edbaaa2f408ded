# The files the runner keeps under the cache root and reads back as hostile
# input: the last-failed record (--rerun-failed) and the stat index of the
# cache key over shares. The readers' sources are compiled into the targets
# so that libFuzzer instruments them. (The run registry's records are not
# fuzzed here: reaping acts on what they name, processes and directories;
# tests/unit/test_runreg.c feeds it hostile records instead.)
smol_add_fuzz_target(lastfail
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_lastfail.c ${CMAKE_SOURCE_DIR}/runner/cache/last_failed.c
  LIBS smolrunner
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/lastfail SECONDS 5)
smol_add_fuzz_target(cache_index
  SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_cache_index.c ${CMAKE_SOURCE_DIR}/runner/cache/cache_tree.c
  LIBS smolrunner
  CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/cache_index SECONDS 5)
