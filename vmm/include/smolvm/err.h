/* vmm_err: the one error type of libsmolvm (Firecracker's per-operation
 * errors with context, in C).
 *
 * A library function that can fail for a reason its caller should show
 * takes a struct vmm_err * (which may be NULL) and, when it returns -errno,
 * leaves one line there: what failed, on what (file, field, value) and,
 * where there is one, what to do about it. Each layer on the way up adds
 * its context in front with vmm_err_prefix() ("snap.smolsnap: dev.blk.0: "),
 * so the line at the top says exactly which step failed on what. Only the
 * CLIs print it; library code never writes to stderr for its caller. */
#ifndef SMOL_VMM_ERR_H
#define SMOL_VMM_ERR_H

#include <stdarg.h>
#include <stddef.h>

#define VMM_ERR_MAX 400

struct vmm_err {
	char msg[VMM_ERR_MAX];
};

/* Formats into err (when err is not NULL); err->msg is replaced. */
void vmm_err_vset(struct vmm_err *err, const char *fmt, va_list ap);

/* Formats into err (when err is not NULL) and returns rc unchanged, so that
 * callers can write `return vmm_errf(err, -EINVAL, "...")`. Inline so that
 * static analysers see that rc comes back. */
static inline __attribute__((format(printf, 3, 4))) int vmm_errf(struct vmm_err *err, int rc,
								 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmm_err_vset(err, fmt, ap);
	va_end(ap);
	return rc;
}

/* Prefixes the message already in err with "prefix: " (e.g. the file name).
 * Returns rc unchanged. */
int vmm_err_prefix(struct vmm_err *err, int rc, const char *prefix);

/* vmm_log: the sink for what happens while the guest runs and has no
 * caller to return to: a guest driver doing something wrong (a broken
 * queue that needs a reset), a host I/O error a device works around. The
 * embedder installs it (struct vm_config.log); `smolvm` prints each line
 * as "smolvm: <line>", a unit test keeps them to assert on. Rate limits
 * belong to the code that logs (it knows what repeats), not to the sink.
 *
 * fn gets one line without a newline, borrowed for the call; it may be
 * called from any vCPU thread and the event-loop thread at once, so it
 * must be thread-safe, and after the seccomp filter is installed it may
 * make only the syscalls a write to stderr makes. fn NULL: lines are
 * dropped. */
struct vmm_log {
	void (*fn)(void *ctx, const char *line);
	void *ctx;
};

#define VMM_LOG_MAX 512 /* a longer line is cut */

/* Formats one line and hands it to log->fn; log NULL or log->fn NULL:
 * nothing happens. */
void vmm_logf(const struct vmm_log *log, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
