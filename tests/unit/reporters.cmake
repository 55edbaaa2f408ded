# Reporter tests (issue #8). Goldens live in tests/unit/golden/.
set(_rep_inc ${CMAKE_CURRENT_SOURCE_DIR}/golden ${CMAKE_SOURCE_DIR}/reporters)
foreach(_t text junit tap console gha merge jsonl)
  smol_add_unit_test(${_t} SOURCES test_${_t}.c LIBS smolreport)
  target_include_directories(test_${_t} PRIVATE ${_rep_inc})
endforeach()
