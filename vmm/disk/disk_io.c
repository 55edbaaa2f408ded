#include "disk/disk_io.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

int dio_pread(int fd, void *buf, size_t len, uint64_t off)
{
	int rc = util_pread_exact(fd, buf, len, off);
	return rc == -EPIPE ? -EIO : rc; /* the image shrank under us */
}

int dio_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	return util_pwrite_all(fd, buf, len, off);
}

int dio_zero_range(int fd, uint64_t off, uint64_t len)
{
	static const char zero[65536];

	if (len == 0)
		return 0;
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != ENOSYS && errno != EINVAL && errno != ENODEV)
		return -errno;
	while (len) {
		size_t n = len < sizeof(zero) ? (size_t)len : sizeof(zero);
		int rc = dio_pwrite(fd, zero, n, off);
		if (rc)
			return rc;
		off += n;
		len -= n;
	}
	return 0;
}

int dio_size(int fd, uint64_t *out)
{
	struct stat st;
	if (fstat(fd, &st))
		return -errno;
	if (S_ISREG(st.st_mode)) {
		*out = (uint64_t)st.st_size;
		return 0;
	}
	if (S_ISBLK(st.st_mode)) {
		uint64_t sz;
		if (ioctl(fd, BLKGETSIZE64, &sz))
			return -errno;
		*out = sz;
		return 0;
	}
	return -EINVAL;
}
