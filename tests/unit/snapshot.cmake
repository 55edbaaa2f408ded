# Snapshot format, writer/reader, fingerprint and bundle tests (issue 5).
smol_add_unit_test(snap_format SOURCES test_snap_format.c LIBS smolvm_internals)
# Links libarchive itself: it writes hostile bundles, and checks the
# dlopen table smolvm uses against archive.h (snapshot/snap_archive.h).
smol_add_unit_test(snap_bundle SOURCES test_snap_bundle.c LIBS smolvm_internals PkgConfig::ARCHIVE)
smol_add_unit_test(snap_state SOURCES test_snap_state.c LIBS smolvm_internals)
smol_add_unit_test(snap_fork SOURCES test_snap_fork.c LIBS smolvm_internals)
# The little-endian codec every state blob is written with (issue 16).
smol_add_unit_test(snap_codec SOURCES test_snap_codec.c LIBS smolvm_internals)
# The control socket's `vcpus` line (what a stuck guest's vCPUs were doing).
smol_add_unit_test(snap_vcpus SOURCES test_snap_vcpus.c LIBS smolvm_internals)
