# Placeholder until the VMM core lands: replace with the real source lists.
target_sources(smolvm PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/core/vm_version.c)
target_sources(smolvm_cli PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/cli/main.c)
