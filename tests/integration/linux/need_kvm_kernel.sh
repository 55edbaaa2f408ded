# Sourced by the Linux-guest tests (bash or sh, with $src the source
# tree): exits 77, ctest's SKIP, without a usable /dev/kvm or a cached
# Debian cloud kernel package; else sets deb to the package.
if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then
	echo "SKIP: /dev/kvm is missing or not accessible"
	exit 77
fi
deb=${SMOL_TEST_KERNEL_DEB:-$("$src/ci/fetch-kernel" --offline 2>/dev/null)}
if [ -z "$deb" ] || [ ! -r "$deb" ]; then
	echo "SKIP: no Debian cloud kernel package: run ci/fetch-kernel (or set SMOL_TEST_KERNEL_DEB)"
	exit 77
fi
