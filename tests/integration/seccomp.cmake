# The VMM's seccomp filter end to end (docs/hardening.md): run and restore
# in seccomp mode 2, --no-seccomp and SMOLVM_NO_SECCOMP=1 without.
if(TARGET probe)
  smol_add_integration_test(seccomp
    COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/seccomp/seccomp.sh $<TARGET_FILE:smolvm_cli>
            $<TARGET_FILE:probe>
    TIMEOUT 120 LABELS kvm)
endif()
