/* expect: outcome classification (expect.h). */
#include "suite/expect.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int match_buf(pcre2_code *re, pcre2_match_data *md, const char *p, size_t n, bool *hit)
{
	if (!p)
		return 0;
	int rc = pcre2_match(re, (PCRE2_SPTR)p, n, 0, 0, md, NULL);
	if (rc >= 0)
		*hit = true;
	else if (rc != PCRE2_ERROR_NOMATCH && rc != PCRE2_ERROR_MATCHLIMIT &&
		 rc != PCRE2_ERROR_DEPTHLIMIT && rc != PCRE2_ERROR_HEAPLIMIT && rc > -100)
		return 0; /* UTF errors are already tolerated with MATCH_INVALID_UTF */
	return 0;
}

int expect_match(const struct suite_match *m, const struct result_output *o, bool *matched)
{
	int e;
	PCRE2_SIZE off;
	*matched = false;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)m->pattern, PCRE2_ZERO_TERMINATED, m->options,
				       &e, &off, NULL);
	if (!re)
		return -EINVAL;
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	if (!md) {
		pcre2_code_free(re);
		return -ENOMEM;
	}
	/* Search head and tail separately and, when the output fitted (no
	 * dropped middle), their junction too: a match may straddle it. */
	match_buf(re, md, o->head, o->head_len, matched);
	if (!*matched)
		match_buf(re, md, o->tail, o->tail_len, matched);
	if (!*matched && o->tail_len && !o->truncated) {
		char *all = malloc(o->head_len + o->tail_len + 1);
		if (all) {
			memcpy(all, o->head, o->head_len);
			memcpy(all + o->head_len, o->tail, o->tail_len);
			match_buf(re, md, all, o->head_len + o->tail_len, matched);
			free(all);
		}
	}
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	return 0;
}

/* Appends one reason to msg[0..len) after `used` bytes, "; " between
 * reasons; returns the new length (capped: msg stays terminated). */
__attribute__((format(printf, 4, 5))) static size_t append_reason(char *msg, size_t len,
								  size_t used, const char *fmt, ...)
{
	if (used + 1 >= len)
		return used;
	if (used)
		used += (size_t)snprintf(msg + used, len - used, "; ");
	if (used + 1 >= len)
		return len - 1;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg + used, len - used, fmt, ap);
	va_end(ap);
	if (n < 0)
		return used;
	return used + (size_t)n < len ? used + (size_t)n : len - 1;
}

int expect_check(const struct suite_expect *e, const struct expect_outcome *o,
		 const struct result_output *out, const struct result_output *err,
		 enum result_status *status, enum result_fail_kind *kind, char *msg, size_t len)
{
	if (o->timed_out) {
		*status = RESULT_TIMEOUT;
		*kind = FAIL_TIMEOUT;
		snprintf(msg, len, "timed out; the whole process tree was killed");
		return 0;
	}
	/* Every reason is said, the exit status first: a test that exits 1
	 * and also misses its stdout pattern reports both (its kind is the
	 * first one's). */
	size_t used = 0;
	*status = RESULT_PASS;
	*kind = FAIL_NONE;
	if (len)
		msg[0] = '\0';
	if (!o->exited && o->oom && o->signal == SIGKILL) {
		*status = RESULT_FAIL;
		*kind = FAIL_EXIT_CODE;
		used = append_reason(msg, len, used,
				     "killed by the OOM killer (signal %d), expected exit %d",
				     o->signal, e->exit);
	} else if (!o->exited) {
		*status = RESULT_FAIL;
		*kind = FAIL_EXIT_CODE;
		used =
		    append_reason(msg, len, used, "killed by signal %d (%s), expected exit %d%s",
				  o->signal, strsignal(o->signal), e->exit,
				  o->oom ? " (the OOM killer killed a process of the test)" : "");
	} else if (o->exit_code != e->exit) {
		*status = RESULT_FAIL;
		*kind = FAIL_EXIT_CODE;
		used = append_reason(
		    msg, len, used, "exit status %d, expected %d%s", o->exit_code, e->exit,
		    o->oom ? " (the OOM killer killed a process of the test)" : "");
	}
	const struct {
		const struct suite_match *m;
		const struct result_output *o;
		bool want;
		const char *what;
	} checks[] = {
	    {&e->stdout_match, out, true, "stdout does not match"},
	    {&e->stdout_not, out, false, "stdout matches forbidden"},
	    {&e->stderr_match, err, true, "stderr does not match"},
	    {&e->stderr_not, err, false, "stderr matches forbidden"},
	};
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		if (!checks[i].m->pattern)
			continue;
		bool hit;
		int rc = expect_match(checks[i].m, checks[i].o, &hit);
		if (rc)
			return rc;
		if (hit != checks[i].want) {
			if (*status == RESULT_PASS)
				*kind = FAIL_OUTPUT;
			*status = RESULT_FAIL;
			used = append_reason(msg, len, used, "%s %s", checks[i].what,
					     checks[i].m->text);
		}
	}
	if (*status != RESULT_PASS)
		return 0;
	*status = RESULT_PASS;
	*kind = FAIL_NONE;
	snprintf(msg, len, "passed");
	return 0;
}
