# The VMM's seccomp filter: BPF layout, the allowlist, and real filters
# installed in forked children (docs/hardening.md).
smol_add_unit_test(seccomp SOURCES test_seccomp.c LIBS smolvm_internals)
