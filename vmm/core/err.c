/* vmm_err: one-line errors with context (smolvm/err.h). */
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
