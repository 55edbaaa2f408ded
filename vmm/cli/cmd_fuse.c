/* `smolvm fuse-serve HOSTDIR MOUNTPOINT [--ro]`: serve HOSTDIR through the
 * virtio-fs FUSE handler over the host's /dev/fuse, in the foreground, until
 * MOUNTPOINT is unmounted. A test helper: the real kernel FUSE client then
 * exercises exactly the code virtio-fs runs. */
#include "cli/cli.h"
#include "fs/fuse_dev.h"
#include "fs/vfs.h"
#include "smolvm/err.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

int cmd_fuse_serve(int argc, char **argv)
{
	const char *dir = NULL, *mnt = NULL;
	bool ro = false;
	struct vfs *fs = NULL;
	struct vmm_err err;
	int fd = -1, rc, status = SMOLVM_EXIT_FAIL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--ro")) {
			ro = true;
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: smolvm fuse-serve HOSTDIR MOUNTPOINT [--ro]\n");
			return SMOLVM_EXIT_OK;
		} else if (!dir) {
			dir = argv[i];
		} else if (!mnt) {
			mnt = argv[i];
		} else {
			fprintf(stderr, "smolvm fuse-serve: unexpected argument '%s'\n", argv[i]);
			return SMOLVM_EXIT_USAGE;
		}
	}
	if (!dir || !mnt) {
		fprintf(stderr, "usage: smolvm fuse-serve HOSTDIR MOUNTPOINT [--ro]\n");
		return SMOLVM_EXIT_USAGE;
	}
	rc = vfs_raise_nofile();
	if (rc)
		fprintf(stderr, "smolvm fuse-serve: warning: cannot raise RLIMIT_NOFILE: %s\n",
			strerror(-rc));
	if (vfs_create(dir, ro, NULL, &fs, &err)) {
		fprintf(stderr, "smolvm fuse-serve: %s\n", err.msg);
		return SMOLVM_EXIT_FAIL;
	}
	if (fuse_dev_mount(mnt, ro, &fd, &err)) {
		fprintf(stderr, "smolvm fuse-serve: %s\n", err.msg);
		goto out;
	}
	printf("fuse-serve: serving %s on %s%s\n", dir, mnt, ro ? " (read-only)" : "");
	fflush(stdout);
	rc = fuse_dev_serve(fs, fd);
	if (rc) {
		fprintf(stderr, "smolvm fuse-serve: /dev/fuse: %s\n", strerror(-rc));
		umount2(mnt, MNT_DETACH);
		goto out;
	}
	status = SMOLVM_EXIT_OK;
out:
	if (fd >= 0)
		close(fd);
	vfs_destroy(fs);
	return status;
}
