# libsmolvm core: vm, vcpus, guest memory, event loop, io bus, x86_64 arch
# code, the core devices (serial, i8042, debug-exit, virtio-mmio transport,
# split virtqueue, virtio-rng) and the smolvm CLI. Files are listed, not
# globbed, so other areas' files in the same directories (devices/virtio/
# blk, vsock, fs) stay in their own fragments.
target_sources(smolvm PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/core/vm_version.c
  ${CMAKE_CURRENT_SOURCE_DIR}/core/gmem.c
  ${CMAKE_CURRENT_SOURCE_DIR}/core/iobus.c
  ${CMAKE_CURRENT_SOURCE_DIR}/core/evloop.c
  ${CMAKE_CURRENT_SOURCE_DIR}/devices/virtio/queue.c
)
target_sources(smolvm_cli PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/cli/main.c)
