/* test_last_failed: the per-suite record of failed tests behind
 * --rerun-failed: the set, the plan filter, save/load, a hostile record,
 * and the reporter's update rule (failed in, passed out, not run kept). */
#include "cache/last_failed.h"
#include "util.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/test_last_failed.XXXXXX";

static void setup(void)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	util_rm_rf(dir);
	strcpy(dir, "/tmp/test_last_failed.XXXXXX");
}

START_TEST(test_set_and_filter)
{
	struct lastfail lf = {0};
	ck_assert_int_eq(lastfail_set(&lf, "b", true), 0);
	ck_assert_int_eq(lastfail_set(&lf, "a", true), 0);
	ck_assert_int_eq(lastfail_set(&lf, "b", true), 0); /* no duplicate */
	ck_assert_int_eq(lastfail_set(&lf, "zz", false), 0);
	ck_assert_uint_eq(lf.n, 2);
	ck_assert(lastfail_has(&lf, "a") && lastfail_has(&lf, "b") && !lastfail_has(&lf, "c"));

	struct suite_test tests[4] = {{.name = "a"}, {.name = "c"}, {.name = "b"}, {.name = "d"}};
	struct suite s = {.tests = tests, .n_tests = 4};
	size_t plan[] = {3, 2, 1, 0}, n = 4;
	lastfail_filter(&lf, &s, plan, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(plan[0], 2); /* the plan's order is kept */
	ck_assert_uint_eq(plan[1], 0);
	ck_assert_int_eq(lastfail_set(&lf, "a", false), 0);
	ck_assert_uint_eq(lf.n, 1);
	ck_assert_str_eq(lf.names[0], "b");
	lastfail_release(&lf);
	lastfail_release(&lf); /* twice is harmless */
}
END_TEST

START_TEST(test_save_load_and_hostile_records)
{
	char path[256], p2[256];
	ck_assert_int_eq(lastfail_path(dir, "/x/suite.yaml", path, sizeof(path)), 0);
	ck_assert_int_eq(lastfail_path(dir, "/x/other.yaml", p2, sizeof(p2)), 0);
	ck_assert_str_ne(path, p2); /* one record per suite */
	ck_assert_int_eq(lastfail_path(dir, "/x/s", p2, 8), -ENAMETOOLONG);

	struct lastfail lf = {0};
	ck_assert_int_eq(lastfail_load(path, &lf), -ENOENT);
	ck_assert_int_eq(lastfail_set(&lf, "unit/one", true), 0);
	ck_assert_int_eq(lastfail_set(&lf, "two words", true), 0);
	ck_assert_int_eq(lastfail_save(&lf, path, "/x/suite.yaml"), 0); /* makes its dir */
	lastfail_release(&lf);
	ck_assert_int_eq(lastfail_load(path, &lf), 0);
	ck_assert_uint_eq(lf.n, 2);
	ck_assert(lastfail_has(&lf, "unit/one") && lastfail_has(&lf, "two words"));

	/* not a record: refused whole */
	static const char junk[] = "failed a\nfailed b\n";
	ck_assert_int_eq(util_write_file_atomic(path, junk, sizeof(junk) - 1, 0600), 0);
	ck_assert_int_eq(lastfail_load(path, &lf), -EINVAL);
	ck_assert_uint_eq(lf.n, 0);
	/* a record with lines that are not test names: those are ignored */
	static const char mixed[] =
	    "smoltest-last-failed 1\nsuite /x\nfailed ok\nfailed $(rm -rf /)\n"
	    "failed ../up\nfailed \nbogus line\nfailed ok\nfailed -dash\n"
	    "\xff\xfe\nfailed last-no-newline";
	ck_assert_int_eq(util_write_file_atomic(path, mixed, sizeof(mixed) - 1, 0600), 0);
	ck_assert_int_eq(lastfail_load(path, &lf), 0);
	ck_assert_uint_eq(lf.n, 2);
	ck_assert(lastfail_has(&lf, "ok") && lastfail_has(&lf, "last-no-newline"));
	lastfail_release(&lf);
}
END_TEST

static struct result_record rec(const char *name, enum result_status st, bool final)
{
	struct result_record r = {0};
	r.test_name = name;
	r.status = st;
	r.final = final;
	r.message = "";
	return r;
}

START_TEST(test_reporter_updates_the_record)
{
	char path[256];
	ck_assert_int_eq(lastfail_path(dir, "/s.yaml", path, sizeof(path)), 0);
	struct lastfail prev = {0};
	ck_assert_int_eq(lastfail_set(&prev, "fixed", true), 0);
	ck_assert_int_eq(lastfail_set(&prev, "not-run", true), 0);
	ck_assert_int_eq(lastfail_set(&prev, "flaky-now", true), 0);
	ck_assert_int_eq(lastfail_set(&prev, "leaks-now", true), 0);
	ck_assert_int_eq(lastfail_set(&prev, "cancelled", true), 0);
	struct reporter *r = NULL;
	ck_assert_int_eq(lastfail_reporter_create(path, "/s.yaml", &prev, &r), 0);
	struct result_record rs[] = {
	    rec("fixed", RESULT_PASS, true),	      rec("new", RESULT_FAIL, false),
	    rec("new", RESULT_TIMEOUT, true),	      rec("flaky-now", RESULT_FLAKY, true),
	    rec("not-run", RESULT_SKIP, true),	      rec("broke", RESULT_ERROR, true),
	    rec("retried", RESULT_FAIL, false),	      /* not final: no change */
	    rec("leaks-now", RESULT_LEAK, true),      /* a pass with a warning */
	    rec("cancelled", RESULT_CANCELLED, true), /* did not finish: stands */
	};
	for (size_t i = 0; i < sizeof(rs) / sizeof(rs[0]); i++)
		ck_assert_int_eq(r->ops->result(r, &rs[i]), 0);
	struct run_summary sum = {0};
	ck_assert_int_eq(access(path, F_OK), -1); /* written at end() only */
	ck_assert_int_eq(r->ops->end(r, &sum), 0);
	r->ops->destroy(r);
	struct lastfail got = {0};
	ck_assert_int_eq(lastfail_load(path, &got), 0);
	ck_assert_uint_eq(got.n, 4);
	ck_assert(lastfail_has(&got, "new") && lastfail_has(&got, "not-run") &&
		  lastfail_has(&got, "broke") && lastfail_has(&got, "cancelled"));
	ck_assert(prev.n == 5); /* prev was copied, not changed */
	lastfail_release(&got);
	lastfail_release(&prev);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("last_failed");
	TCase *tc = tcase_create("last_failed");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_set_and_filter);
	tcase_add_test(tc, test_save_load_and_hostile_records);
	tcase_add_test(tc, test_reporter_updates_the_record);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
