# The runner's unit tests (suite model, selection, cache, scheduler helpers).
smol_add_unit_test(suite SOURCES test_suite.c LIBS smolrunner)
smol_add_unit_test(select SOURCES test_select.c LIBS smolrunner)
smol_add_unit_test(runner_misc SOURCES test_runner_misc.c LIBS smolrunner)
