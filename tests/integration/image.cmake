# Guest image builder on the real Debian cloud kernel package (fetched and
# cached by ci/fetch-kernel; skipped only when the archive is unreachable).
if(TARGET smolimage)
  add_executable(check_image ${CMAKE_CURRENT_SOURCE_DIR}/image/check_image.c)
  target_link_libraries(check_image PRIVATE PkgConfig::ARCHIVE PkgConfig::XXHASH)
  set_target_properties(check_image PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  # The static agent (fixtures/agent/ builds it as target smoltest_agent);
  # without it busybox stands in as /init.
  set(_image_agent "")
  if(TARGET smoltest_agent AND DEFINED SMOL_AGENT_BIN)
    set(_image_agent ${SMOL_AGENT_BIN})
  endif()
  smol_add_integration_test(image_build
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/image/run.sh $<TARGET_FILE:smoltest>
            $<TARGET_FILE:check_image> ${_image_agent}
    TIMEOUT 180 LABELS image)
endif()

# `smoltest image rootfs`: docker-save / OCI / directory to ext4 and erofs,
# read back with debugfs and fsck.erofs, and hostile tarballs.
if(TARGET smolimage)
  smol_add_integration_test(image_rootfs
    COMMAND ${CMAKE_CURRENT_SOURCE_DIR}/image/rootfs.sh $<TARGET_FILE:smoltest>
    TIMEOUT 120 LABELS image)
endif()
