# libsmolvm core: vm, vcpus, guest memory, event loop, io bus, x86_64 arch
# code, the core devices (serial, i8042, debug-exit, virtio-mmio transport,
# split virtqueue, virtio-rng) and the smolvm CLI. Library files are listed,
# not globbed, so other areas' files in the same directories (devices/virtio/
# blk, vsock, fs) stay in their own fragments. Other areas' CLI subcommands
# (vmm/cli/cmd_NAME.c + a row in vmm/cli/commands.def) are added to
# smolvm_cli by their own fragments.
set(SMOLVM_DIR ${CMAKE_CURRENT_SOURCE_DIR})
target_sources(smolvm PRIVATE
  ${SMOLVM_DIR}/core/vm_version.c
  ${SMOLVM_DIR}/core/err.c
  ${SMOLVM_DIR}/core/gmem.c
  ${SMOLVM_DIR}/core/iobus.c
  ${SMOLVM_DIR}/core/evloop.c
  ${SMOLVM_DIR}/core/vm.c
  ${SMOLVM_DIR}/core/vcpu.c
  ${SMOLVM_DIR}/core/vm_stats.c
  ${SMOLVM_DIR}/arch/x86_64/acpi.c
  ${SMOLVM_DIR}/arch/x86_64/aml.c
  ${SMOLVM_DIR}/arch/x86_64/bootparams.c
  ${SMOLVM_DIR}/arch/x86_64/cpu.c
  ${SMOLVM_DIR}/arch/x86_64/kernel.c
  ${SMOLVM_DIR}/arch/x86_64/load.c
  ${SMOLVM_DIR}/devices/serial.c
  ${SMOLVM_DIR}/devices/i8042.c
  ${SMOLVM_DIR}/devices/debugexit.c
  ${SMOLVM_DIR}/devices/acpi_sleep.c
  ${SMOLVM_DIR}/devices/registry.c
  ${SMOLVM_DIR}/devices/virtio/queue.c
  ${SMOLVM_DIR}/devices/virtio/mmio.c
  ${SMOLVM_DIR}/devices/virtio/mmio_state.c
  ${SMOLVM_DIR}/devices/virtio/rng.c
)
target_sources(smolvm_cli PRIVATE ${SMOLVM_DIR}/cli/main.c ${SMOLVM_DIR}/cli/cmd_run.c)
