# The runner's unit tests (suite model, selection, cache, scheduler helpers).
smol_add_unit_test(suite SOURCES test_suite.c LIBS smolrunner)
smol_add_unit_test(select SOURCES test_select.c LIBS smolrunner)
smol_add_unit_test(runner_misc SOURCES test_runner_misc.c LIBS smolrunner)
smol_add_unit_test(expect SOURCES test_expect.c LIBS smolrunner)
smol_add_unit_test(cache SOURCES test_cache.c LIBS smolrunner)
# The scheduler through a fake backend that runs the real agent as a plain
# process (no root needed).
smol_add_unit_test(sched SOURCES test_sched.c LIBS smolrunner TIMEOUT 120)
if(TARGET smoltest_agent)
  add_dependencies(test_sched smoltest_agent)
endif()
# The job state machine's transition table (sched_phase.c).
smol_add_unit_test(sched_phase SOURCES test_sched_phase.c LIBS smolrunner)
smol_add_unit_test(vm_backend SOURCES test_vm_backend.c LIBS smolrunner)
# A silent fork's vCPUs: the verdict from two `vcpus` answers, hostile
# answers, and the control socket client against a fake smolvm.
smol_add_unit_test(vm_verdict SOURCES test_vm_verdict.c LIBS smolrunner)
smol_add_unit_test(runreg SOURCES test_runreg.c LIBS smolrunner)
# The sandbox monitor's argv: built by the runner, refused by the monitor.
smol_add_unit_test(sandbox_monitor SOURCES test_sandbox_monitor.c LIBS smolrunner)
smol_add_unit_test(last_failed SOURCES test_last_failed.c LIBS smolrunner)
