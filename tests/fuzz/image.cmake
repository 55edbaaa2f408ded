# Guest image builder: parsers of untrusted input. modinfo: ELF + .modinfo
# of kernel modules (plain and compressed) and modules.builtin, from the
# .deb; ocijson: docker-save / OCI image JSON for `image rootfs`.
if(TARGET smolimage)
  smol_add_fuzz_target(modinfo SOURCES fuzz_modinfo.c LIBS smolimage
    CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/modinfo SECONDS 6)
  smol_add_fuzz_target(ocijson SOURCES fuzz_ocijson.c LIBS smolimage
    CORPUS ${CMAKE_CURRENT_SOURCE_DIR}/corpus/ocijson SECONDS 5)
endif()
