# Layered copy-on-write disk images (issue #4).
target_sources(smolvm PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/disk/disk.c
  ${CMAKE_CURRENT_SOURCE_DIR}/disk/disk_io.c
  ${CMAKE_CURRENT_SOURCE_DIR}/disk/layer.c
  ${CMAKE_CURRENT_SOURCE_DIR}/disk/layer_format.c)
