/* disk_io: small file helpers shared by the disk module (not public). */
#ifndef SMOL_DISK_IO_H
#define SMOL_DISK_IO_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* pread/pwrite of exactly len bytes; EINTR retried; EOF on read is -EIO. */
int dio_pread(int fd, void *buf, size_t len, uint64_t off);
int dio_pwrite(int fd, const void *buf, size_t len, uint64_t off);

/* Writes len zero bytes at off, punching a hole (FALLOC_FL_PUNCH_HOLE |
 * KEEP_SIZE) when the file system supports it and writing zeroes otherwise. */
int dio_zero_range(int fd, uint64_t off, uint64_t len);

/* Size of a regular file or block device, in bytes. */
int dio_size(int fd, uint64_t *out);

/* snprintf into err (when non-NULL) and return rc; for one-line messages. */
int dio_err(char *err, size_t len, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
