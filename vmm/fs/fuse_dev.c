#include "fs/fuse_dev.h"

#include "fs/vfs.h"
#include "smolvm/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

int fuse_dev_mount(const char *mountpoint, bool read_only, int *out_fd, struct vmm_err *err)
{
	char opts[256];
	struct stat st;
	int fd, rc;

	if (stat(mountpoint, &st) || !S_ISDIR(st.st_mode))
		return vmm_errf(err, -ENOTDIR, "mount point %s is not a directory", mountpoint);
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		return vmm_errf(err, rc, "cannot open /dev/fuse: %s (load the fuse module)",
				strerror(-rc));
	}
	snprintf(opts, sizeof(opts),
		 "fd=%d,rootmode=40000,user_id=0,group_id=0,default_permissions,allow_other", fd);
	if (mount("smolvm", mountpoint, "fuse", MS_NOSUID | MS_NODEV | (read_only ? MS_RDONLY : 0),
		  opts)) {
		rc = -errno;
		close(fd);
		return vmm_errf(err, rc, "cannot mount fuse on %s: %s (needs CAP_SYS_ADMIN)",
				mountpoint, strerror(-rc));
	}
	*out_fd = fd;
	return 0;
}

int fuse_dev_serve(struct vfs *fs, int fd)
{
	uint8_t *in = malloc(VFS_BUF_SIZE), *out = malloc(VFS_BUF_SIZE);
	int rc = 0;

	if (!in || !out) {
		rc = -ENOMEM;
		goto out;
	}
	while (!vfs_destroyed(fs)) {
		ssize_t n = read(fd, in, VFS_BUF_SIZE);
		if (n < 0) {
			/* ENOENT: the request was interrupted before we read it. */
			if (errno == EINTR || errno == EAGAIN || errno == ENOENT)
				continue;
			rc = errno == ENODEV ? 0 : -errno;
			break;
		}
		size_t olen = 0;
		if (vfs_handle(fs, in, (size_t)n, out, VFS_BUF_SIZE, &olen) || olen == 0)
			continue;
		/* ENOENT on write: the client gave up on the request. */
		if (write(fd, out, olen) < 0 && errno != ENOENT && errno != EINTR) {
			rc = errno == ENODEV ? 0 : -errno;
			break;
		}
	}
out:
	free(in);
	free(out);
	return rc;
}
