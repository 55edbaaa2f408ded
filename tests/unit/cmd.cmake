# The command line's own modules: list and validate options, list --json.
smol_add_unit_test(list_cmd SOURCES test_list_cmd.c LIBS smolrunner)
