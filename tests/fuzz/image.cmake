# Guest image builder: the .modinfo / ELF parser sees untrusted .deb bytes.
if(TARGET smolimage)
  smol_add_fuzz_target(modinfo SOURCES fuzz_modinfo.c LIBS smolimage
    CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/modinfo SECONDS 8)
endif()
