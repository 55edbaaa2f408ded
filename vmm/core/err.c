/* vmm_err: one-line errors with context, and vmm_log, the sink for
 * runtime notices (smolvm/err.h). */
#include "smolvm/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void vmm_err_vset(struct vmm_err *err, const char *fmt, va_list ap)
{
	if (err)
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int vmm_err_prefix(struct vmm_err *err, int rc, const char *prefix)
{
	if (!err)
		return rc;
	char tmp[VMM_ERR_MAX];
	memcpy(tmp, err->msg, sizeof(tmp));
	tmp[sizeof(tmp) - 1] = '\0';
	int n = snprintf(err->msg, sizeof(err->msg), "%.*s: ", (int)(sizeof(err->msg) / 2), prefix);
	if (n > 0 && (size_t)n < sizeof(err->msg))
		snprintf(err->msg + n, sizeof(err->msg) - (size_t)n, "%.*s",
			 (int)(sizeof(err->msg) - (size_t)n - 1), tmp);
	return rc;
}

void vmm_logf(const struct vmm_log *log, const char *fmt, ...)
{
	if (!log || !log->fn)
		return;
	char line[VMM_LOG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log->fn(log->ctx, line);
}
