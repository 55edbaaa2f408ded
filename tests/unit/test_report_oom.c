/* test_report_oom: every reporter's out-of-memory paths, by failure
 * injection. The reporters' strbufs keep their first error (strbuf.h) and
 * each writer checks once; this test makes the Nth realloc() in the
 * reporters and strbuf fail, for every N a run of the fixture makes, and
 * checks that the failure is never lost: either a callback returns -ENOMEM
 * or the output is exactly what a run without the failure writes. A writer
 * that ignored an append's result without a sticky buffer would write a
 * line with a hole and return 0. Under ASan/LSan the same runs check that
 * no failure path leaks or touches freed memory.
 *
 * realloc is wrapped at link time (-Wl,--wrap=realloc, tests/unit/
 * reporters.cmake): only the calls from code linked into this executable
 * (the reporters, strbuf) go through __wrap_realloc; libc's own (stdio's
 * memory streams) do not. */
#include "records.h"
#include "reporter_builtin.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);

/* The injection plan: which call fails (0: none), and how many were made. */
static struct {
	unsigned long calls, fail_at;
} inj;

void *__wrap_realloc(void *p, size_t n)
{
	if (++inj.calls == inj.fail_at)
		return NULL; /* p is left as it was, as realloc does */
	return __real_realloc(p, n);
}

enum kind { K_CONSOLE, K_CONSOLE_QUIET, K_TAP, K_JSONL, K_JUNIT, K_COUNT };
static const char *const kind_name[K_COUNT] = {"console", "console -q", "tap", "jsonl", "junit"};

struct run {
	struct reporter *r;
	int first_err; /* the first callback error, 0 if none */
	unsigned nerr; /* callbacks that failed */
};

static void note(struct run *run, int rc)
{
	if (!rc)
		return;
	ck_assert_msg(rc == -ENOMEM, "a reporter failed with %d, not -ENOMEM", rc);
	if (!run->first_err)
		run->first_err = rc;
	run->nerr++;
}

static void feed(void *ctx, const struct result_record *rec)
{
	struct run *run = ctx;
	note(run, run->r->ops->result(run->r, rec));
}

/* Runs the whole fixture through one reporter of kind k, with realloc call
 * fail_at failing (0: none), calling every callback whatever the earlier
 * ones returned (as the reporter set does). Returns what it wrote
 * (malloc'd; *len bytes) and sets *calls and *err. */
static char *run_once(enum kind k, unsigned long fail_at, unsigned long *calls, int *err,
		      size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	ck_assert_ptr_nonnull(f);
	char path[] = "/tmp/test_report_oom.XXXXXX";
	struct run run = {0};
	struct console_opts o = {.verbosity = 1, .color = CONSOLE_COLOR_NEVER, .slowest = 3};

	inj.calls = 0;
	inj.fail_at = fail_at;
	switch (k) {
	case K_CONSOLE_QUIET:
		o.verbosity = -1;
		/* fall through */
	case K_CONSOLE:
		ck_assert_int_eq(console_reporter_create(f, &o, &run.r), 0);
		break;
	case K_TAP:
		ck_assert_int_eq(tap_reporter_create_stream(f, 14, &run.r), 0);
		break;
	case K_JSONL:
		ck_assert_int_eq(jsonl_reporter_create_stream(f, &run.r), 0);
		break;
	case K_JUNIT: {
		int fd = mkstemp(path);
		ck_assert_int_ge(fd, 0);
		close(fd);
		ck_assert_int_eq(junit_reporter_create(path, &run.r), 0);
		break;
	}
	case K_COUNT:
		break;
	}
	note(&run, run.r->ops->begin(run.r, &fx_info));
	fx_replay(feed, &run);
	note(&run, run.r->ops->end(run.r, &fx_summary));
	run.r->ops->destroy(run.r);
	*calls = inj.calls;
	inj.fail_at = 0;
	fclose(f);
	if (k == K_JUNIT) {
		/* the document, when end() wrote one (the file is replaced by
		 * rename, so an empty one means nothing was written) */
		free(buf);
		FILE *j = fopen(path, "re");
		ck_assert_ptr_nonnull(j);
		buf = NULL;
		size_t cap = 0;
		ssize_t n = getdelim(&buf, &cap, '\0', j);
		*len = n > 0 ? (size_t)n : 0;
		fclose(j);
		unlink(path);
	}
	*err = run.first_err;
	return buf;
}

START_TEST(every_allocation_failure_is_reported)
{
	enum kind k = (enum kind)_i;
	unsigned long total, calls;
	int err;
	size_t ref_len, len;
	char *ref = run_once(k, 0, &total, &err, &ref_len);
	ck_assert_int_eq(err, 0);
	ck_assert_uint_gt(total, 10); /* the fixture grows buffers: the test sees them */

	unsigned reported = 0;
	for (unsigned long n = 1; n <= total; n++) {
		char *out = run_once(k, n, &calls, &err, &len);
		ck_assert_uint_ge(calls, n); /* the injected failure happened */
		if (err)
			reported++;
		else
			ck_assert_msg(len == ref_len && !memcmp(out, ref, len),
				      "%s: realloc %lu of %lu failed, no callback said so, and "
				      "the output differs",
				      kind_name[k], n, total);
		free(out);
	}
	/* Each failure lands in a buffer that matters for the output. */
	ck_assert_msg(reported == total, "%s: %u of %lu failures reported", kind_name[k], reported,
		      total);
	free(ref);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("report_oom");
	TCase *tc = tcase_create("inject");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, every_allocation_failure_is_reported, 0, K_COUNT);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
