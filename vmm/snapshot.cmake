# Snapshot file format, save, restore, fork and .smolmachine bundles
# (issue 5). docs/snapshot.md describes the format and the restore order.
target_sources(smolvm PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/snapshot/snap_format.c
  ${CMAKE_CURRENT_SOURCE_DIR}/snapshot/snap_codec.c
  ${CMAKE_CURRENT_SOURCE_DIR}/snapshot/snap_writer.c
  ${CMAKE_CURRENT_SOURCE_DIR}/snapshot/snap_file.c
  ${CMAKE_CURRENT_SOURCE_DIR}/snapshot/snap_fingerprint.c
  ${CMAKE_CURRENT_SOURCE_DIR}/snapshot/snap_config.c
  ${CMAKE_CURRENT_SOURCE_DIR}/snapshot/snap_bundle.c
  ${CMAKE_CURRENT_SOURCE_DIR}/snapshot/snap_archive.c
  ${CMAKE_CURRENT_SOURCE_DIR}/snapshot/snap_state.c
  ${CMAKE_CURRENT_SOURCE_DIR}/snapshot/snap_save.c
  ${CMAKE_CURRENT_SOURCE_DIR}/snapshot/snap_restore.c
  ${CMAKE_CURRENT_SOURCE_DIR}/snapshot/snap_control.c
  ${CMAKE_CURRENT_SOURCE_DIR}/snapshot/snap_vcpus.c
  ${CMAKE_CURRENT_SOURCE_DIR}/snapshot/snap_fork.c)
target_sources(smolvm_cli PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/cli/cmd_snapshot.c
  ${CMAKE_CURRENT_SOURCE_DIR}/cli/cmd_restore.c
  ${CMAKE_CURRENT_SOURCE_DIR}/cli/cmd_fork.c)
