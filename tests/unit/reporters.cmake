# Reporter tests (issue #8). Goldens live in tests/unit/golden/.
set(_rep_inc ${CMAKE_CURRENT_SOURCE_DIR}/golden ${CMAKE_SOURCE_DIR}/reporters)
foreach(_t text junit tap console gha merge jsonl)
  smol_add_unit_test(${_t} SOURCES test_${_t}.c LIBS smolreport)
  target_include_directories(test_${_t} PRIVATE ${_rep_inc})
endforeach()
# Every realloc in the reporters and strbuf made to fail in turn: the
# sticky strbuf errors must reach the caller (issue 16 item 4).
smol_add_unit_test(report_oom SOURCES test_report_oom.c LIBS smolreport TIMEOUT 300)
target_include_directories(test_report_oom PRIVATE ${_rep_inc})
target_link_options(test_report_oom PRIVATE -Wl,--wrap=realloc)
