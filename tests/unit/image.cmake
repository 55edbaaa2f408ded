# Guest image builder (fixtures/image/): .modinfo/ELF parsing, dependency
# ordering, initrd writing and the busybox applet list.
if(TARGET smolimage)
  smol_add_unit_test(modinfo SOURCES test_modinfo.c LIBS smolimage)
  smol_add_unit_test(image SOURCES test_image.c test_image_fake.c LIBS smolimage)
endif()
if(TARGET smolimage)
  smol_add_unit_test(image_rootfs SOURCES test_image_rootfs.c LIBS smolimage)
endif()
# The module list contract with the agent (fixtures/agent/), when it is built.
if(TARGET smolimage AND TARGET smolagent)
  smol_add_unit_test(image_agent SOURCES test_image_agent.c test_image_fake.c
    LIBS smolimage smolagent)
endif()
