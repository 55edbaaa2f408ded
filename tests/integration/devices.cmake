# Device integration tests (issue #4): drive the real smolvm binary.
smol_add_integration_test(fuse_workout
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/devices/fuse_workout.sh $<TARGET_FILE:smolvm_cli>
  TIMEOUT 120)
smol_add_integration_test(disk_cli
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/devices/disk_cli.sh $<TARGET_FILE:smolvm_cli>
  TIMEOUT 60)
