/* disk_io: small file helpers shared by the disk module (not public). */
#ifndef SMOL_DISK_IO_H
#define SMOL_DISK_IO_H

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

#endif
