# virtio devices of issue #4: blk (over vmm/disk), vsock, fs (over vmm/fs).
target_sources(smolvm PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/devices/virtio/blk.c
  ${CMAKE_CURRENT_SOURCE_DIR}/devices/virtio/blk_req.c)
target_sources(smolvm PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/devices/virtio/vsock.c
  ${CMAKE_CURRENT_SOURCE_DIR}/devices/virtio/vsock_conn.c
  ${CMAKE_CURRENT_SOURCE_DIR}/devices/virtio/vsock_core.c)
target_sources(smolvm PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/devices/virtio/fs.c
  ${CMAKE_CURRENT_SOURCE_DIR}/devices/virtio/fs_req.c)
# CLI pieces of this area: `smolvm disk`, `smolvm fuse-serve`, run options.
target_sources(smolvm_cli PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/cli/cmd_disk.c
  ${CMAKE_CURRENT_SOURCE_DIR}/cli/cmd_fuse.c
  ${CMAKE_CURRENT_SOURCE_DIR}/cli/run_opts_devices.c)
