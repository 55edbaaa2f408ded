/* expect: checks one attempt's outcome against a test's expectations
 * (exit status, PCRE2 matches on stdout/stderr) and classifies it.
 *
 * Output expectations are evaluated on the kept output (head and tail, see
 * outbuf.h); a match that would span the dropped middle is not seen. */
#ifndef SMOL_EXPECT_H
#define SMOL_EXPECT_H

#include "record.h"
#include "suite/suite.h"

#include <stdbool.h>
#include <stddef.h>

struct expect_outcome {
	bool exited;
	int exit_code;
	int signal;
	bool timed_out;
	/* the kernel's OOM killer killed a process of the test's tree (the
	 * agent's EXIT flag OOM): said in the reason of a failure */
	bool oom;
};

/* Decides status and fail_kind for an attempt and writes a one-line
 * message into msg[0..len). Returns 0, or -ENOMEM. Never fails on hostile
 * output (invalid UTF-8, NULs). */
int expect_check(const struct suite_expect *e, const struct expect_outcome *o,
		 const struct result_output *out, const struct result_output *err,
		 enum result_status *status, enum result_fail_kind *kind, char *msg, size_t len);

/* True when `m` (a parsed suite_match) matches the kept output. -EINVAL
 * when the pattern does not compile (cannot happen for a parsed suite). */
int expect_match(const struct suite_match *m, const struct result_output *o, bool *matched);

#endif
