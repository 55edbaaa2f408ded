/* snap_err: one-line error messages for the snapshot code.
 *
 * Every snapshot function that can fail on hostile input takes a
 * struct snap_err * (which may be NULL) and, when it returns -errno, leaves a
 * single line there naming the file, the field and the value that was wrong
 * and, where there is one, what to do about it. */
#ifndef SMOL_SNAP_ERR_H
#define SMOL_SNAP_ERR_H

#include <stdarg.h>
#include <stddef.h>

#define SNAP_ERR_MAX 400

struct snap_err {
	char msg[SNAP_ERR_MAX];
};

/* Formats into err (when err is not NULL); err->msg is replaced. */
void snap_err_vset(struct snap_err *err, const char *fmt, va_list ap);

/* Formats into err (when err is not NULL) and returns rc unchanged, so that
 * callers can write `return snap_errf(err, -EINVAL, "...")`. Inline so that
 * static analysers see that rc comes back. */
static inline __attribute__((format(printf, 3, 4))) int snap_errf(struct snap_err *err, int rc,
								  const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	snap_err_vset(err, fmt, ap);
	va_end(ap);
	return rc;
}

/* Prefixes the message already in err with "prefix: " (e.g. the file name).
 * Returns rc unchanged. */
int snap_err_prefix(struct snap_err *err, int rc, const char *prefix);

#endif
