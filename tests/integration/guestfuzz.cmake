# Guest-side fuzzing from a real vCPU (issue 14 item 1): the probe's fuzz_*
# steps against smolvm's virtio devices (guestfuzz/probe_fuzz.sh), with
# vsock_echo as the host's listener for fuzz_vsock_live. The longer campaign
# is in tests/fuzz/README.md.
if(TARGET probe)
  add_executable(vsock_echo ${CMAKE_CURRENT_SOURCE_DIR}/guestfuzz/vsock_echo.c)
  set_target_properties(vsock_echo PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  smol_add_integration_test(probe_fuzz
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/guestfuzz/probe_fuzz.sh $<TARGET_FILE:smolvm_cli>
            $<TARGET_FILE:probe> $<TARGET_FILE:vsock_echo>
    TIMEOUT 900 LABELS kvm)
endif()
