/* util: small helpers shared by every part of smoltest.
 *
 * Every function returns 0 or -errno and writes results through
 * out-parameters. Nothing here allocates unless its comment says so. */
#ifndef SMOL_UTIL_H
#define SMOL_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define NSEC_PER_SEC  1000000000ull
#define NSEC_PER_MSEC 1000000ull

/* Monotonic clock in nanoseconds (CLOCK_MONOTONIC). */
uint64_t util_now_ns(void);

/* Wall clock in nanoseconds since the epoch (CLOCK_REALTIME). */
uint64_t util_wall_ns(void);

/* Parses a duration: a non-negative decimal number with an optional
 * fraction and a unit of ns, us, ms, s, m or h ("1.5s", "250ms", "2m").
 * A bare number means seconds. Concatenations such as "1m30s" are accepted.
 * Returns -EINVAL on malformed text and -ERANGE when the value does not fit
 * in 64-bit nanoseconds. */
int util_parse_duration(const char *text, uint64_t *out_ns);

/* Parses a size: a non-negative integer with an optional binary suffix
 * K, M, G, T (or KiB, MiB, GiB, TiB; "k"/"m"/"g"/"t" accepted) or B.
 * A bare number means bytes. -EINVAL on malformed text, -ERANGE on overflow. */
int util_parse_size(const char *text, uint64_t *out_bytes);

/* Parses a decimal unsigned integer in [min, max]. The whole string must be
 * consumed. -EINVAL on malformed text, -ERANGE when out of range. */
int util_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out);

/* Formats a duration in nanoseconds for people ("812ms", "1.25s", "3m04s")
 * into buf, always NUL-terminated. Returns buf. */
char *util_format_duration(uint64_t ns, char *buf, size_t len);

/* Writes all of buf to fd, retrying on EINTR and short writes. Blocking fds
 * only: on a non-blocking fd EAGAIN is returned as -EAGAIN. */
int util_write_all(int fd, const void *buf, size_t len);

/* Writes text to the existing file path (O_WRONLY, no O_CREAT or
 * O_TRUNC): a control file of /proc, /sys or a cgroup. 0 or -errno. */
int util_write_str(const char *path, const char *text);

/* Reads exactly len bytes. Returns -EPIPE if EOF comes first. */
int util_read_exact(int fd, void *buf, size_t len);

/* pread/pwrite of exactly len bytes at off, retrying EINTR and short
 * transfers. A read that meets EOF first returns -EPIPE (like
 * util_read_exact); a write that makes no progress returns -EIO. */
int util_pread_exact(int fd, void *buf, size_t len, uint64_t off);
int util_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);

/* Room for element n of an array of *cap elements of elem bytes: returns
 * arr itself while n < *cap, else arr reallocated to twice the capacity
 * (first when it was 0) with *cap updated, or NULL when memory or size_t
 * ran out (arr and *cap are then unchanged and still the caller's). Use:
 *   struct x *v = util_grow(a->v, &a->cap, a->n, sizeof(*v), 16);
 *   if (!v) return -ENOMEM;
 *   a->v = v; */
void *util_grow(void *arr, size_t *cap, size_t n, size_t elem, size_t first);

/* Reads a whole file into a newly malloc'd, NUL-terminated buffer owned by
 * the caller. Files larger than max_len give -EFBIG. *out_len may be NULL. */
int util_read_file(const char *path, size_t max_len, char **out, size_t *out_len);
/* The same for an open fd, from its current offset to EOF; the fd stays
 * open (for a file the caller holds locked, for example). */
int util_read_fd(int fd, size_t max_len, char **out, size_t *out_len);

/* Writes data to path atomically: a temporary file in the same directory,
 * fsync'd, then renamed over path. On failure path is untouched and the
 * temporary file is removed. */
int util_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* Sets O_NONBLOCK / FD_CLOEXEC on fd. */
int util_set_nonblock(int fd, bool on);
int util_set_cloexec(int fd, bool on);

/* Creates every missing directory of path (like mkdir -p). */
int util_mkdir_p(const char *path, mode_t mode);

/* Removes path and, for a directory, everything below it without following
 * symlinks and without crossing mount points. A missing path is success. */
int util_rm_rf(const char *path);

/* True when s starts with prefix. */
bool util_starts_with(const char *s, const char *prefix);

#endif
