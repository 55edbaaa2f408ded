# Guest-side fuzzing from a real vCPU (issue 14 item 1): the probe's fuzz_*
# steps against smolvm's virtio devices (guestfuzz/probe_fuzz.sh). The
# longer campaign is in tests/fuzz/README.md.
if(TARGET probe)
  smol_add_integration_test(probe_fuzz
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/guestfuzz/probe_fuzz.sh $<TARGET_FILE:smolvm_cli>
            $<TARGET_FILE:probe>
    TIMEOUT 900 LABELS kvm)
endif()
