# runner/proto: codec and stream tests.
smol_add_unit_test(proto SOURCES test_proto.c LIBS smolproto smolcommon)
