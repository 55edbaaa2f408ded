# Device integration tests (issue #4): drive the real smolvm binary.
smol_add_integration_test(fuse_workout
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/devices/fuse_workout.sh $<TARGET_FILE:smolvm_cli>
  TIMEOUT 120)
smol_add_integration_test(disk_cli
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/devices/disk_cli.sh $<TARGET_FILE:smolvm_cli>
  TIMEOUT 60)
if(TARGET probe)
  add_executable(vsock_host ${CMAKE_CURRENT_SOURCE_DIR}/devices/vsock_host.c)
  set_target_properties(vsock_host PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  smol_add_integration_test(probe_devices
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/devices/probe_devices.sh $<TARGET_FILE:smolvm_cli>
            $<TARGET_FILE:probe> $<TARGET_FILE:vsock_host>
    TIMEOUT 180 LABELS kvm)
endif()
