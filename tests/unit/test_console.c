/* test_console: the console reporter's three shapes (plain, live TTY,
 * quiet), NO_COLOR, and the recap of failures, slowest tests and summary. */
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
	ck_assert_int_eq(r->ops->test_started(r, rec->test_name, rec->attempt), 0);
	ck_assert_int_eq(r->ops->result(r, rec), 0);
}

static char *render(const struct console_opts *o, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	struct reporter *r = NULL;

	ck_assert_int_eq(console_reporter_create(f, o, &r), 0);
	ck_assert_int_eq(r->ops->begin(r, &fx_info), 0);
	fx_replay(feed, r);
	ck_assert_int_eq(r->ops->end(r, &fx_summary), 0);
	r->ops->destroy(r);
	fclose(f);
	return buf;
}

static struct console_opts opts(bool tty, bool no_color, int verbosity)
{
	struct console_opts o = {.verbosity = verbosity,
				 .color = CONSOLE_COLOR_AUTO,
				 .tty = tty,
				 .no_color_env = no_color,
				 .slowest = 3,
				 .tail_lines = 5};
	return o;
}

START_TEST(test_plain_when_not_a_tty)
{
	struct console_opts o = opts(false, false, 0);
	size_t len;
	char *out = render(&o, &len);

	ck_assert_ptr_null(memchr(out, '\x1b', len));
	ck_assert_ptr_null(memchr(out, '\r', len));
	ck_assert_ptr_nonnull(strstr(out, "FAIL  exit code (124ms) exit status 3, expected 0\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nPASS  boots (2ms)\n"));
	ck_assert_ptr_nonnull(
	    strstr(out, "\nRETRY flaky (129ms) attempt 1 of 3: stdout did not match"));
	ck_assert_ptr_nonnull(strstr(out, "\nFLAKY flaky (129ms) passed on retry\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nSKIP  skipped: needs /dev/kvm # really\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nERROR agent lost (127ms) agent connection lost"));
	/* The recap repeats failures with the tail of their output. */
	ck_assert_ptr_nonnull(strstr(out, "\nFailures:\n\nFAIL exit code (examples/hello.yaml:14)\n"
					  "  exit status 3, expected 0\n  stdout:\n"));
	ck_assert_ptr_nonnull(strstr(out, "    | second line\n    |     indented third line\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nTIMEOUT slow # not a directive \\ backslash"));
	ck_assert_ptr_nonnull(strstr(out, "  artifacts: /tmp/art/exit code/out/report.txt\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nSlowest:\n"));
	ck_assert_ptr_nonnull(
	    strstr(out, "\n9 tests: 2 passed, 4 failed, 1 flaky, 1 skipped, 1 error in "));
	ck_assert_ptr_nonnull(strstr(out, " (backend vm, cache hit)\n"));
	/* The 100 KB line is cut in the recap. */
	ck_assert_uint_lt(len, 32768);
	free(out);
}
END_TEST

START_TEST(test_no_color_on_a_tty_is_plain)
{
	struct console_opts o = opts(true, true, 0);
	size_t len;
	char *out = render(&o, &len);
	ck_assert_ptr_null(memchr(out, '\x1b', len));
	ck_assert_ptr_null(memchr(out, '\r', len));
	ck_assert_ptr_nonnull(strstr(out, "PASS  boots"));
	free(out);
}
END_TEST

START_TEST(test_live_status_line_on_a_tty)
{
	struct console_opts o = opts(true, false, 0);
	size_t len;
	char *out = render(&o, &len);
	ck_assert_ptr_nonnull(strstr(out, "\r\x1b[K"));
	ck_assert_ptr_nonnull(strstr(out, "[1/9]"));
	ck_assert_ptr_nonnull(strstr(out, " running: exit code"));
	ck_assert_ptr_nonnull(strstr(out, "\x1b[31mFAIL \x1b[0m exit code"));
	ck_assert_ptr_nonnull(strstr(out, "\x1b[32mPASS \x1b[0m boots"));
	/* The test's own escapes are still stripped from its name. */
	ck_assert_ptr_nonnull(strstr(out, "\x1b[35mERROR\x1b[0m agent lost"));
	free(out);
}
END_TEST

START_TEST(test_color_never_and_always)
{
	struct console_opts o = opts(true, false, 0);
	size_t len;
	o.color = CONSOLE_COLOR_NEVER;
	char *out = render(&o, &len);
	ck_assert_ptr_null(memchr(out, '\x1b', len));
	free(out);
	o = opts(false, true, 0);
	o.color = CONSOLE_COLOR_ALWAYS;
	out = render(&o, &len);
	ck_assert_ptr_nonnull(strstr(out, "\x1b[32mPASS"));
	ck_assert_ptr_null(memchr(out, '\r', len));
	free(out);
}
END_TEST

START_TEST(test_quiet_prints_failures_and_summary)
{
	struct console_opts o = opts(false, false, -1);
	size_t len;
	char *out = render(&o, &len);
	ck_assert_ptr_null(strstr(out, "PASS"));
	ck_assert_ptr_null(strstr(out, "RETRY"));
	ck_assert_ptr_null(strstr(out, "Slowest"));
	ck_assert_ptr_nonnull(strstr(out, "FAIL  exit code"));
	ck_assert_ptr_nonnull(strstr(out, "9 tests: 2 passed"));
	free(out);
}
END_TEST

START_TEST(test_verbose_shows_passing_output)
{
	struct console_opts o = opts(false, false, 1);
	struct result_record rec = fx_base("chatty", 0, 1);
	struct run_summary sum = {.total = 1, .passed = 1};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct reporter *r = NULL;

	rec.out.head = "hello from a passing test\n";
	rec.out.head_len = strlen(rec.out.head);
	ck_assert_int_eq(console_reporter_create(f, &o, &r), 0);
	ck_assert_int_eq(r->ops->begin(r, &fx_info), 0);
	ck_assert_int_eq(r->ops->result(r, &rec), 0);
	ck_assert_int_eq(r->ops->end(r, &sum), 0);
	r->ops->destroy(r);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "    | hello from a passing test\n"));
	ck_assert_ptr_nonnull(strstr(buf, "1 test: 1 passed, 0 failed"));
	free(buf);
}
END_TEST

START_TEST(test_tick)
{
	struct console_opts o = opts(true, false, 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct reporter *r = NULL, *tap = NULL;

	ck_assert_int_eq(console_reporter_create(f, &o, &r), 0);
	ck_assert_int_eq(r->ops->begin(r, &fx_info), 0);
	ck_assert_int_eq(r->ops->test_started(r, "long one", 1), 0);
	fflush(f);
	size_t before = len;
	ck_assert_int_eq(console_reporter_tick(r), 0);
	fflush(f);
	ck_assert_uint_gt(len, before);
	ck_assert_ptr_nonnull(strstr(buf + before, "\r\x1b[K"));
	ck_assert_ptr_nonnull(strstr(buf + before, "[0/9]"));
	ck_assert_ptr_nonnull(strstr(buf + before, "running: long one"));
	ck_assert_int_eq(tap_reporter_create_stream(f, 14, &tap), 0);
	ck_assert_int_eq(console_reporter_tick(tap), -EINVAL);
	tap->ops->destroy(tap);
	r->ops->destroy(r);
	/* A plain console ignores ticks. */
	o = opts(false, false, 0);
	ck_assert_int_eq(console_reporter_create(f, &o, &r), 0);
	fflush(f);
	before = len;
	ck_assert_int_eq(console_reporter_tick(r), 0);
	fflush(f);
	ck_assert_uint_eq(len, before);
	r->ops->destroy(r);
	fclose(f);
	free(buf);
}
END_TEST

/* However many tests run at once, the status line fits 80 columns. */
START_TEST(test_status_line_width)
{
	struct console_opts o = opts(true, false, 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct reporter *r = NULL;
	char name[64];

	ck_assert_int_eq(console_reporter_create(f, &o, &r), 0);
	ck_assert_int_eq(r->ops->begin(r, &fx_info), 0);
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "a-rather-long-test-name-number-%02d", i);
		ck_assert_int_eq(r->ops->test_started(r, name, 1), 0);
	}
	fflush(f);
	const char *last = buf;
	for (const char *p = buf; (p = strstr(p, "\r\x1b[K")); p++)
		last = p;
	/* Visible characters: drop the escape sequences. */
	size_t visible = 0;
	for (const char *p = last + 4; *p; p++) {
		if (*p == '\x1b') {
			while (*p && *p != 'm')
				p++;
			continue;
		}
		visible += ((unsigned char)*p & 0xC0) != 0x80;
	}
	ck_assert_uint_le(visible, 80);
	ck_assert_ptr_nonnull(strstr(last, " +"));
	r->ops->destroy(r);
	fclose(f);
	free(buf);
}
END_TEST

/* A failure's output: the tail with an explicit "… N lines omitted …"
 * marker, tail:N, full, and -v (everything kept). */
static char *render_long(struct console_opts *o)
{
	char *buf = NULL, out[4096];
	size_t len = 0, n = 0;
	FILE *f = open_memstream(&buf, &len);
	struct reporter *r = NULL;
	for (int i = 1; i <= 61; i++)
		n += (size_t)snprintf(out + n, sizeof(out) - n,
				      i == 1 ? "root cause\n" : "line %d\n", i);
	struct result_record rec = fx_base("long", 0, 3);
	rec.status = RESULT_FAIL;
	rec.message = "exit status 1, expected 0";
	rec.out.head = out;
	rec.out.head_len = n;
	rec.out.total_bytes = n;
	ck_assert_int_eq(console_reporter_create(f, o, &r), 0);
	ck_assert_int_eq(r->ops->begin(r, &fx_info), 0);
	ck_assert_int_eq(r->ops->result(r, &rec), 0);
	ck_assert_int_eq(r->ops->end(r, &fx_summary), 0);
	r->ops->destroy(r);
	fclose(f);
	return buf;
}

START_TEST(test_failure_output_marker_and_full)
{
	struct console_opts o = opts(false, false, 0);
	char *out = render_long(&o); /* tail_lines 5 */
	ck_assert_ptr_nonnull(
	    strstr(out, "  stdout:\n    … 56 lines omitted (--failure-output full shows them) …\n"
			"    | line 57\n"));
	ck_assert_ptr_nonnull(strstr(out, "    | line 61\n"));
	ck_assert_ptr_null(strstr(out, "root cause"));
	free(out);
	o.tail_lines = 61;
	out = render_long(&o);
	ck_assert_ptr_nonnull(strstr(out, "  stdout:\n    | root cause\n"));
	ck_assert_ptr_null(strstr(out, "omitted"));
	free(out);
	o.tail_lines = 5;
	o.full_output = true;
	out = render_long(&o);
	ck_assert_ptr_nonnull(strstr(out, "  stdout:\n    | root cause\n    | line 2\n"));
	ck_assert_ptr_null(strstr(out, "omitted"));
	free(out);
	o = opts(false, false, 1); /* -v: everything kept */
	out = render_long(&o);
	ck_assert_ptr_nonnull(strstr(out, "    | root cause\n"));
	free(out);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("console");
	TCase *tc = tcase_create("console");
	tcase_add_test(tc, test_plain_when_not_a_tty);
	tcase_add_test(tc, test_no_color_on_a_tty_is_plain);
	tcase_add_test(tc, test_live_status_line_on_a_tty);
	tcase_add_test(tc, test_color_never_and_always);
	tcase_add_test(tc, test_quiet_prints_failures_and_summary);
	tcase_add_test(tc, test_verbose_shows_passing_output);
	tcase_add_test(tc, test_tick);
	tcase_add_test(tc, test_status_line_width);
	tcase_add_test(tc, test_failure_output_marker_and_full);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
