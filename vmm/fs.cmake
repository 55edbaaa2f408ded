# virtio-fs' FUSE server (issue #4): transport-independent request handler.
target_sources(smolvm PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/fs/fuse_dev.c
  ${CMAKE_CURRENT_SOURCE_DIR}/fs/vfs_node.c
  ${CMAKE_CURRENT_SOURCE_DIR}/fs/vfs_ops_entry.c
  ${CMAKE_CURRENT_SOURCE_DIR}/fs/vfs_ops_file.c
  ${CMAKE_CURRENT_SOURCE_DIR}/fs/vfs_req.c
  ${CMAKE_CURRENT_SOURCE_DIR}/fs/vfs_snap.c)
