/* test_tap: the TAP reporter against golden files (TAP 14 and 13), with
 * hostile names and output, plan/bail-out handling and escaping. prove's
 * agreement on the counts is checked by tests/integration/reporters/. */
#include "golden.h"
#include "records.h"
#include "reporter_builtin.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void feed(void *ctx, const struct result_record *rec)
{
	struct reporter *r = ctx;
	ck_assert_int_eq(r->ops->result(r, rec), 0);
}

/* Runs the fixture into a memory stream and returns the TAP text. */
static char *render(unsigned version, const struct run_summary *sum, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	struct reporter *r = NULL;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(tap_reporter_create_stream(f, version, &r), 0);
	ck_assert_int_eq(r->ops->begin(r, &fx_info), 0);
	fx_replay(feed, r);
	ck_assert_int_eq(r->ops->end(r, sum), 0);
	r->ops->destroy(r);
	fclose(f);
	return buf;
}

START_TEST(test_golden_v14)
{
	size_t len;
	char *tap = render(14, &fx_summary, &len);
	golden_check("tap14.tap", tap, len);
	free(tap);
}
END_TEST

START_TEST(test_v13_differs_only_in_version)
{
	size_t l13, l14;
	char *t13 = render(13, &fx_summary, &l13);
	char *t14 = render(14, &fx_summary, &l14);
	ck_assert(!strncmp(t13, "TAP version 13\n", 15));
	ck_assert_uint_eq(l13, l14);
	ck_assert(!memcmp(t13 + 15, t14 + 15, l13 - 15));
	free(t13);
	free(t14);
}
END_TEST

START_TEST(test_points_and_escaping)
{
	size_t len;
	char *tap = render(14, &fx_summary, &len);
	ck_assert_ptr_nonnull(strstr(tap, "\nnot ok 1 - exit code\n"));
	ck_assert_ptr_nonnull(strstr(tap, "\nok 2 - boots\n"));
	ck_assert_ptr_nonnull(strstr(tap, " - slow \\# not a directive \\\\ backslash\n"));
	ck_assert_ptr_nonnull(strstr(tap, " - skipped # SKIP needs /dev/kvm \\# really\n"));
	ck_assert_ptr_nonnull(strstr(tap, "not ok 7 - agent lost\n  ---\n"));
	ck_assert_ptr_nonnull(strstr(tap, "# retrying flaky: attempt 1 of 3: "));
	ck_assert_ptr_nonnull(strstr(tap, "  severity: flaky\n"));
	ck_assert_ptr_nonnull(strstr(tap, "\n1..9\n"));
	ck_assert_ptr_null(memchr(tap, '\x1b', len));
	ck_assert_ptr_null(memchr(tap, '\r', len));
	ck_assert_ptr_null(strstr(tap, "\xed\xa0\x80"));
	/* A 100 KB line is cut to the tail limit, not copied whole. */
	ck_assert_uint_lt(len, 16384);
	free(tap);
}
END_TEST

START_TEST(test_bail_out)
{
	struct run_summary sum = fx_summary;
	size_t len;
	sum.aborted = true;
	sum.abort_reason = "--fail-fast: 'exit code' failed #1";
	char *tap = render(14, &sum, &len);
	ck_assert(len > 0);
	ck_assert_ptr_nonnull(strstr(tap, "\nBail out! --fail-fast: 'exit code' failed \\#1\n"));
	ck_assert_ptr_null(strstr(tap, "\n1..9\n"));
	free(tap);
}
END_TEST

START_TEST(test_empty_plan_and_bad_version)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct reporter *r = NULL;
	struct run_summary sum = {0};

	ck_assert_int_eq(tap_reporter_create_stream(f, 12, &r), -EINVAL);
	ck_assert_int_eq(tap_reporter_create("x.tap", 15, &r), -EINVAL);
	ck_assert_int_eq(tap_reporter_create("/nonexistent-dir/x.tap", 14, &r), -ENOENT);
	ck_assert_int_eq(tap_reporter_create_stream(f, 14, &r), 0);
	ck_assert_int_eq(r->ops->begin(r, &fx_info), 0);
	ck_assert_int_eq(r->ops->end(r, &sum), 0);
	r->ops->destroy(r);
	fclose(f);
	ck_assert_str_eq(buf, "TAP version 14\n1..0 # SKIP no tests selected\n");
	free(buf);
}
END_TEST

/* Output whose tail starts with white space cannot be a `|` block. */
START_TEST(test_indented_output_is_quoted)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct reporter *r = NULL;
	struct result_record rec = fx_base("t", 0, 1);

	rec.status = RESULT_FAIL;
	rec.fail_kind = FAIL_OUTPUT;
	rec.message = "m";
	rec.out.head = "  leading\n\"q\" \\ back\n";
	rec.out.head_len = strlen(rec.out.head);
	ck_assert_int_eq(tap_reporter_create_stream(f, 14, &r), 0);
	ck_assert_int_eq(r->ops->result(r, &rec), 0);
	r->ops->destroy(r);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "  output: \"  leading\\n\\\"q\\\" \\\\ back\"\n"));
	free(buf);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tap");
	TCase *tc = tcase_create("tap");
	tcase_add_test(tc, test_golden_v14);
	tcase_add_test(tc, test_v13_differs_only_in_version);
	tcase_add_test(tc, test_points_and_escaping);
	tcase_add_test(tc, test_bail_out);
	tcase_add_test(tc, test_empty_plan_and_bad_version);
	tcase_add_test(tc, test_indented_output_is_quoted);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
