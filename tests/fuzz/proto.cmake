# The agent protocol decoder: everything an agent or host sends is hostile.
smol_add_fuzz_target(proto SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/fuzz_proto.c
  LIBS smolproto smolcommon CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/proto SECONDS 8)
