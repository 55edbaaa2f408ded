# fixtures/agent: PID-1 planning (mounts, command line, modules, root switch).
smol_add_unit_test(agent_init SOURCES test_agent_init.c LIBS smolagent)
# runner/agent/agent_client.c: address parsing, refusals, connect timeout.
smol_add_unit_test(agent_client SOURCES test_agent_client.c LIBS smolrunner)
