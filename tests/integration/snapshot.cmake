# Snapshot, restore and fork end to end with the probe guest (issue 5):
# the exact flow of the issue, isolation between forks, the control socket,
# bundles, and the bad-input cases. Skips (77) without a usable /dev/kvm.
add_executable(snaptool ${CMAKE_CURRENT_SOURCE_DIR}/snapshot/snaptool.c)
# snaptool writes hostile bundles with libarchive (smolvm itself only
# dlopens it: vmm/snapshot/snap_archive.h).
target_link_libraries(snaptool PRIVATE smolvm_internals PkgConfig::ARCHIVE)
set_target_properties(snaptool PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
if(TARGET probe)
  smol_add_integration_test(snapshot
    COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/snapshot/run.sh $<TARGET_FILE:smolvm_cli>
            $<TARGET_FILE:probe> $<TARGET_FILE:snaptool>
    TIMEOUT 900 LABELS "kvm;snapshot")
endif()
