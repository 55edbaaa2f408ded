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
	/* numbered in plan order: 'boots' (index 0) ended after 'exit code' */
	ck_assert_ptr_nonnull(strstr(tap, "\nok 1 - boots\n"));
	ck_assert_ptr_nonnull(strstr(tap, "\nnot ok 2 - exit code\n"));
	ck_assert(strstr(tap, "ok 1 - boots") < strstr(tap, "not ok 2 - exit code"));
	ck_assert_ptr_nonnull(strstr(tap, " - slow \\# not a directive \\\\ backslash\n"));
	ck_assert_ptr_nonnull(strstr(tap, " - skipped # SKIP needs /dev/kvm \\# really\n"));
	ck_assert_ptr_nonnull(strstr(tap, "not ok 5 - agent lost\n  ---\n"));
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

/* Renders records given in completion order, without begin; end when asked. */
static char *render_records(const struct result_record *recs, size_t n, bool end)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct reporter *r = NULL;
	struct run_summary sum = {0};
	ck_assert_int_eq(tap_reporter_create_stream(f, 14, &r), 0);
	for (size_t i = 0; i < n; i++)
		ck_assert_int_eq(r->ops->result(r, &recs[i]), 0);
	if (end)
		ck_assert_int_eq(r->ops->end(r, &sum), 0);
	r->ops->destroy(r);
	fclose(f);
	return buf;
}

/* The same test keeps its number whatever order the tests end in, and
 * the numbers are written in sequence (a later test waits). */
START_TEST(test_numbers_follow_plan_order)
{
	static const unsigned orders[3][4] = {{3, 1, 0, 2}, {0, 1, 2, 3}, {2, 3, 1, 0}};
	static const char *const names[4] = {"a", "b", "c", "d"};
	for (int o = 0; o < 3; o++) {
		struct result_record recs[4];
		for (int i = 0; i < 4; i++) {
			unsigned idx = orders[o][i];
			recs[i] = fx_base(names[idx], idx, 1);
			recs[i].status = idx == 2 ? RESULT_FAIL : RESULT_PASS;
			recs[i].message = "m";
		}
		char *tap = render_records(recs, 4, true);
		ck_assert_ptr_nonnull(strstr(tap, "ok 1 - a\nok 2 - b\nnot ok 3 - c\n  ---\n"));
		ck_assert_ptr_nonnull(strstr(tap, "  ...\nok 4 - d\n1..4\n"));
		free(tap);
	}
	/* nothing is written before the first test in plan order ended */
	struct result_record late = fx_base("b", 1, 1);
	char *tap = render_records(&late, 1, false);
	ck_assert_str_eq(tap ? tap : "", "");
	free(tap);
	/* a gap (a test with no record) is closed at the end, in sequence */
	tap = render_records(&late, 1, true);
	ck_assert_str_eq(tap, "ok 1 - b\n1..1\n");
	free(tap);
}
END_TEST

/* A leak is a pass with a warning; a cancelled test is not a skip and
 * keeps its output. */
START_TEST(test_leak_and_cancelled)
{
	struct result_record recs[2];
	recs[0] = fx_base("leaky", 0, 3);
	recs[0].status = RESULT_LEAK;
	recs[0].leaked = 2;
	recs[0].message = "passed, but left 2 processes running";
	recs[1] = fx_base("stopped", 1, 5);
	recs[1].status = RESULT_CANCELLED;
	recs[1].message = "cancelled while running: interrupted by SIGINT";
	recs[1].out.head = "half way\n";
	recs[1].out.head_len = 9;
	char *tap = render_records(recs, 2, true);
	ck_assert_ptr_nonnull(strstr(tap, "ok 1 - leaky\n  ---\n"));
	ck_assert_ptr_nonnull(strstr(tap, "  severity: warning\n  leaked: 2\n"));
	ck_assert_ptr_nonnull(strstr(tap, "not ok 2 - stopped\n  ---\n"));
	ck_assert_ptr_nonnull(strstr(tap, "  severity: cancelled\n"));
	ck_assert_ptr_nonnull(strstr(tap, "  output: |\n    half way\n"));
	ck_assert_ptr_null(strstr(tap, "SKIP"));
	free(tap);
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
	tcase_add_test(tc, test_numbers_follow_plan_order);
	tcase_add_test(tc, test_leak_and_cancelled);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
