/* expect: what a failure's reason says when the agent reported that the
 * OOM killer took part (EXIT flag OOM, expect_outcome.oom). The rest of
 * expect's classification is tested in test_runner_misc.c. */
#include "suite/expect.h"

#include "check_main.h"
#include <check.h>
#include <signal.h>
#include <string.h>

static void check(const struct expect_outcome *o, enum result_status want, const char *msg_want)
{
	struct suite_expect e = {0};
	struct result_output out = {0}, err = {0};
	enum result_status st;
	enum result_fail_kind fk;
	char msg[256];
	ck_assert_int_eq(expect_check(&e, o, &out, &err, &st, &fk, msg, sizeof(msg)), 0);
	ck_assert_int_eq(st, want);
	ck_assert_str_eq(msg, msg_want);
	ck_assert_int_eq(fk, want == RESULT_PASS ? FAIL_NONE : FAIL_EXIT_CODE);
}

START_TEST(oom_killed_test)
{
	/* the test itself was the OOM killer's victim */
	struct expect_outcome o = {.signal = SIGKILL, .oom = true};
	check(&o, RESULT_FAIL, "killed by the OOM killer (signal 9), expected exit 0");
	/* without the flag, SIGKILL is a plain signal (an older agent, or a
	 * kill -9 by the test itself) */
	o.oom = false;
	check(&o, RESULT_FAIL, "killed by signal 9 (Killed), expected exit 0");
}
END_TEST

START_TEST(oom_killed_a_child)
{
	/* a child was killed and the test exited (make after a compiler was
	 * OOM-killed): the exit status is the reason, the OOM kill its cause */
	struct expect_outcome o = {.exited = true, .exit_code = 2, .oom = true};
	check(&o, RESULT_FAIL,
	      "exit status 2, expected 0 (the OOM killer killed a process of the test)");
	/* another signal ended the test after an OOM kill below it */
	o = (struct expect_outcome){.signal = SIGPIPE, .oom = true};
	check(&o, RESULT_FAIL,
	      "killed by signal 13 (Broken pipe), expected exit 0 (the OOM killer killed a "
	      "process of the test)");
	/* a test that survives an OOM kill below it and exits as expected
	 * passes: the kill was its business */
	o = (struct expect_outcome){.exited = true, .oom = true};
	check(&o, RESULT_PASS, "passed");
}
END_TEST

START_TEST(oom_then_timeout)
{
	/* a timeout is the reason whatever else happened */
	struct expect_outcome o = {.signal = SIGKILL, .oom = true, .timed_out = true};
	struct suite_expect e = {0};
	struct result_output out = {0}, err = {0};
	enum result_status st;
	enum result_fail_kind fk;
	char msg[128];
	ck_assert_int_eq(expect_check(&e, &o, &out, &err, &st, &fk, msg, sizeof(msg)), 0);
	ck_assert_int_eq(st, RESULT_TIMEOUT);
	ck_assert_ptr_null(strstr(msg, "OOM"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("expect");
	TCase *tc = tcase_create("oom");
	tcase_add_test(tc, oom_killed_test);
	tcase_add_test(tc, oom_killed_a_child);
	tcase_add_test(tc, oom_then_timeout);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
