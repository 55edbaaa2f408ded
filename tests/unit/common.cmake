smol_add_unit_test(util SOURCES test_util.c LIBS smolcommon)
smol_add_unit_test(strbuf SOURCES test_strbuf.c LIBS smolcommon)
smol_add_unit_test(cli SOURCES test_cli.c LIBS smolrunner)
