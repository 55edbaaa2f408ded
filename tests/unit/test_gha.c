/* test_gha: GitHub Actions workflow-command escaping, the 10-annotation
 * limit, the stop-commands fence around test output, the step summary (links,
 * Markdown escaping, the 1 MiB cap) and the step outputs. */
#include "gha.h"
#include "records.h"
#include "reporter_builtin.h"
#include "util.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tmp {
	char dir[64], summary[128], output[128];
};

static void tmp_make(struct tmp *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/smol-gha-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(t->dir));
	snprintf(t->summary, sizeof(t->summary), "%s/summary.md", t->dir);
	snprintf(t->output, sizeof(t->output), "%s/output", t->dir);
}

static char *slurp(const char *path, size_t *len)
{
	char *s = NULL;
	ck_assert_int_eq(util_read_file(path, 8u << 20, &s, len), 0);
	return s;
}

static unsigned count(const char *hay, const char *needle)
{
	unsigned n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

START_TEST(test_escape_data_and_property)
{
	struct strbuf sb = {0};
	ck_assert_int_eq(gha_escape_data(&sb, "100% a:b,c\r\nnext\n", 18), 0);
	ck_assert_str_eq(sb_str(&sb), "100%25 a:b,c%0Anext%0A");
	sb_reset(&sb);
	ck_assert_int_eq(gha_escape_property(&sb, "dir,with:colon%/f.yaml"), 0);
	ck_assert_str_eq(sb_str(&sb), "dir%2Cwith%3Acolon%25/f.yaml");
	sb_reset(&sb);
	ck_assert_int_eq(gha_escape_property(&sb, "two\nlines \x1b[31mred\x1b[0m"), 0);
	ck_assert_str_eq(sb_str(&sb), "two lines red");
	sb_reset(&sb);
	ck_assert_int_eq(gha_escape_data(&sb, "nul\0bad\xff", 8), 0);
	ck_assert_str_eq(sb_str(&sb), "nulbad\xef\xbf\xbd");
	sb_release(&sb);
}
END_TEST

static void feed(void *ctx, const struct result_record *rec)
{
	struct reporter *r = ctx;
	ck_assert_int_eq(r->ops->result(r, rec), 0);
}

/* Replays the fixture; the log lands in *buf (the caller frees it). */
static void run_fixture(struct gha_opts *o, char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);
	struct reporter *r = NULL;
	o->out = f;
	ck_assert_int_eq(gha_reporter_create(o, &r), 0);
	ck_assert_int_eq(r->ops->begin(r, &fx_info), 0);
	fx_replay(feed, r);
	ck_assert_int_eq(r->ops->end(r, &fx_summary), 0);
	r->ops->destroy(r);
	fclose(f);
}

START_TEST(test_annotations_and_groups)
{
	struct tmp t;
	struct gha_opts o = {0};
	size_t len;

	tmp_make(&t);
	o.step_summary = t.summary;
	o.output = t.output;
	o.junit_path = "out/junit.xml";
	o.server_url = "https://github.com";
	o.repository = "octo/smol";
	o.sha = "abc123";
	char *log = NULL;
	run_fixture(&o, &log, &len);
	/* The annotation quotes the output tail: stderr here, cut to 1 KiB. */
	const char *e14 = strstr(log, "::error file=examples/hello.yaml,line=14,title=exit code::"
				      "exit status 3, expected 0%0Axxxx");
	ck_assert_ptr_nonnull(e14);
	ck_assert_uint_lt((size_t)(strchr(e14, '\n') - e14), 1200);
	/* stdout when stderr is empty; escaped multi-line. */
	ck_assert_ptr_nonnull(strstr(log,
				     "title=output <mismatch> & \"quotes\"::stdout did not contain "
				     "\"hello, world\"%0Asecond line of message%0Ahello, wor%0A"
				     "[... 4972 bytes omitted ...]%0Ald?%0Aend of output\n"));
	ck_assert_ptr_nonnull(
	    strstr(log, "::warning file=examples/hello.yaml,line=40,title=flaky%3A flaky::"));
	ck_assert_uint_eq(count(log, "::group::"), 5);
	ck_assert_uint_eq(count(log, "::endgroup::"), 5);
	ck_assert_uint_eq(count(log, "\n::error "), 5);
	ck_assert_ptr_null(strstr(log, "::notice"));
	ck_assert_ptr_null(memchr(log, '\x1b', len));
	free(log);

	char *md = slurp(t.summary, &len);
	ck_assert_ptr_nonnull(strstr(md, "| 9 | 2 | 4 | 1 | 1 | 1 | 0 | 0 | 4.57s |"));
	ck_assert_ptr_nonnull(strstr(md,
				     "[examples/hello.yaml:14](https://github.com/octo/smol/blob/"
				     "abc123/examples/hello.yaml#L14)"));
	ck_assert_ptr_nonnull(strstr(md, "| output &lt;mismatch&gt; &amp; \"quotes\" |"));
	ck_assert_ptr_nonnull(strstr(md, "| slow \\# not a directive \\\\ backslash |"));
	ck_assert_ptr_nonnull(strstr(md, "### Flaky"));
	ck_assert_ptr_nonnull(strstr(md, "### Slowest"));
	free(md);

	char *out = slurp(t.output, &len);
	ck_assert_str_eq(out, "passed=2\nfailed=4\nflaky=1\nskipped=1\nerrors=1\nleaked="
			      "0\ncancelled=0\njunit=out/junit.xml\n");
	free(out);
	util_rm_rf(t.dir);
}
END_TEST

/* Output that prints workflow commands must not be able to run them: it is
 * fenced by ::stop-commands:: with a token it cannot know. */
START_TEST(test_output_cannot_issue_commands)
{
	struct gha_opts o = {0};
	struct result_record rec = fx_base("sneaky", 0, 3);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct reporter *r = NULL;

	rec.status = RESULT_FAIL;
	rec.fail_kind = FAIL_OUTPUT;
	rec.message = "m";
	rec.out.head = "::add-mask::secret\n::set-output name=x::y\n::endgroup::\n";
	rec.out.head_len = strlen(rec.out.head);
	o.out = f;
	ck_assert_int_eq(gha_reporter_create(&o, &r), 0);
	ck_assert_int_eq(r->ops->result(r, &rec), 0);
	r->ops->destroy(r);
	fclose(f);
	const char *stop = strstr(buf, "::stop-commands::");
	ck_assert_ptr_nonnull(stop);
	char token[33];
	ck_assert_int_eq(sscanf(stop, "::stop-commands::%32[0-9a-f]\n", token), 1);
	ck_assert_uint_eq(strlen(token), 32);
	const char *mask = strstr(buf, "::add-mask::secret");
	char resume[40];
	snprintf(resume, sizeof(resume), "\n::%s::\n", token);
	const char *res = strstr(buf, resume);
	ck_assert_ptr_nonnull(mask);
	ck_assert_ptr_nonnull(res);
	ck_assert(stop < mask && mask < res);
	ck_assert(strstr(buf, "::set-output") < res);
	free(buf);
}
END_TEST

START_TEST(test_ten_errors_then_notice)
{
	struct gha_opts o = {0};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct reporter *r = NULL;
	struct run_summary sum = {.total = 25, .failed = 25};
	char name[32];

	o.out = f;
	ck_assert_int_eq(gha_reporter_create(&o, &r), 0);
	for (unsigned i = 0; i < 25; i++) {
		struct result_record rec = fx_base(name, i, 10 + i);
		snprintf(name, sizeof(name), "t%u", i);
		rec.status = RESULT_FAIL;
		rec.fail_kind = FAIL_EXIT_CODE;
		rec.message = "boom";
		ck_assert_int_eq(r->ops->result(r, &rec), 0);
	}
	ck_assert_int_eq(r->ops->end(r, &sum), 0);
	r->ops->destroy(r);
	fclose(f);
	ck_assert_uint_eq(count(buf, "\n::error "), 10);
	ck_assert_ptr_nonnull(strstr(buf, ",title=t9::boom\n"));
	ck_assert_ptr_null(strstr(buf, ",title=t10::"));
	ck_assert_uint_eq(count(buf, "::notice"), 1);
	ck_assert_ptr_nonnull(strstr(buf, "::notice title=smoltest::25 tests failed;"));
	free(buf);
}
END_TEST

/* The summary stays under its limit however many failures there are. */
START_TEST(test_summary_limit)
{
	struct collect_list l = {0};
	struct run_summary sum = {.total = 5000, .failed = 5000};
	struct strbuf md = {0};
	char name[300];

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	for (unsigned i = 0; i < 5000; i++) {
		struct result_record rec = fx_base(name, i, 1 + i);
		rec.status = RESULT_FAIL;
		rec.message = "a failure message that is long enough to take some room";
		ck_assert_int_eq(collect_add(&l, &rec), 0);
	}
	struct gha_summary_in in = {
	    .suite_name = "big", .sum = &sum, .results = &l, .limit = GHA_SUMMARY_LIMIT};
	ck_assert_int_eq(gha_summary_render(&md, &in), 0);
	ck_assert_uint_lt(md.len, 1024u * 1024u);
	ck_assert_uint_gt(md.len, 512u * 1024u);
	ck_assert_ptr_nonnull(strstr(sb_str(&md), "cut to stay under GitHub's 1 MiB limit"));
	sb_reset(&md);
	in.limit = 2048;
	ck_assert_int_eq(gha_summary_render(&md, &in), 0);
	ck_assert_uint_le(md.len, 2048);
	ck_assert_ptr_nonnull(strstr(sb_str(&md), "row(s) are not shown"));
	sb_release(&md);
	collect_release(&l);
}
END_TEST

/* LEAK and CANCELLED have their columns in the totals. */
START_TEST(test_summary_leaked_cancelled)
{
	struct collect_list l = {0};
	struct run_summary sum = {.total = 5, .passed = 2, .leaked = 2, .cancelled = 1};
	struct strbuf md = {0};
	struct gha_summary_in in = {.sum = &sum, .results = &l, .limit = GHA_SUMMARY_LIMIT};
	ck_assert_int_eq(gha_summary_render(&md, &in), 0);
	ck_assert_ptr_nonnull(strstr(sb_str(&md), "| leaked | cancelled | time |"));
	ck_assert_ptr_nonnull(strstr(sb_str(&md), "| 5 | 2 | 0 | 0 | 0 | 0 | 2 | 1 | "));
	sb_release(&md);
	collect_release(&l);
}
END_TEST

START_TEST(test_no_links_from_odd_server_url)
{
	struct collect_list l = {0};
	struct run_summary sum = {.total = 1, .failed = 1};
	struct strbuf md = {0};
	struct result_record rec = fx_base("t", 0, 7);
	rec.status = RESULT_FAIL;
	ck_assert_int_eq(collect_add(&l, &rec), 0);
	struct gha_summary_in in = {.sum = &sum,
				    .results = &l,
				    .limit = GHA_SUMMARY_LIMIT,
				    .server_url = "javascript:alert(1)",
				    .repository = "o/r",
				    .sha = "s"};
	ck_assert_int_eq(gha_summary_render(&md, &in), 0);
	ck_assert_ptr_null(strstr(sb_str(&md), "]("));
	ck_assert_ptr_nonnull(strstr(sb_str(&md), "| examples/hello.yaml:7 |"));
	sb_release(&md);
	collect_release(&l);
}
END_TEST

START_TEST(test_unwritable_summary_is_reported)
{
	struct gha_opts o = {.step_summary = "/nonexistent-dir/summary.md"};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	struct reporter *r = NULL;
	struct run_summary sum = {0};
	o.out = f;
	ck_assert_int_eq(gha_reporter_create(&o, &r), 0);
	ck_assert_int_lt(r->ops->end(r, &sum), 0);
	r->ops->destroy(r);
	fclose(f);
	free(buf);
	ck_assert_int_eq(gha_reporter_create(NULL, &r), -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("gha");
	TCase *tc = tcase_create("gha");
	tcase_add_test(tc, test_escape_data_and_property);
	tcase_add_test(tc, test_annotations_and_groups);
	tcase_add_test(tc, test_output_cannot_issue_commands);
	tcase_add_test(tc, test_ten_errors_then_notice);
	tcase_add_test(tc, test_summary_limit);
	tcase_add_test(tc, test_summary_leaked_cancelled);
	tcase_add_test(tc, test_no_links_from_odd_server_url);
	tcase_add_test(tc, test_unwritable_summary_is_reported);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
