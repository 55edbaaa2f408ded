/* sched_phase: the job state machine's transition table, the one setter
 * that enforces it, and the job label used in every error message. */
#include "sched/sched_int.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <string.h>

#define C	 JOB_CONNECTING
#define H	 JOB_HELD
#define R	 JOB_RUNNING
#define A	 JOB_ARTIFACTS
#define F	 JOB_FINISHED
#define P	 JOB_REAPING
#define N_PHASES 6

/* legal[from][to], written out by hand (not derived from the code) */
static const bool legal[N_PHASES][N_PHASES] = {
    /*            C      H      R      A      F      P   */
    [C] = {false, true, true, false, true, false},
    [H] = {false, false, true, false, true, false},
    [R] = {false, false, true, true, true, false},
    [A] = {false, false, false, false, true, false},
    [F] = {false, false, false, false, false, true},
    [P] = {false, false, false, false, false, false},
};

START_TEST(table_is_exactly_the_documented_one)
{
	for (int from = 0; from < N_PHASES; from++)
		for (int to = 0; to < N_PHASES; to++)
			ck_assert_msg(sched_phase_legal(from, to) == legal[from][to],
				      "%s -> %s: got %d", sched_phase_name(from),
				      sched_phase_name(to), sched_phase_legal(from, to));
}
END_TEST

START_TEST(set_phase_refuses_and_keeps_the_phase)
{
	struct job j = {0};
	j.phase = JOB_CONNECTING;
	ck_assert_int_eq(sched_job_set_phase(&j, JOB_RUNNING), 0);
	ck_assert_int_eq(sched_job_set_phase(&j, JOB_ARTIFACTS), 0);
	/* artifacts never go back to running */
	ck_assert_int_eq(sched_job_set_phase(&j, JOB_RUNNING), -EINVAL);
	ck_assert_int_eq(j.phase, JOB_ARTIFACTS);
	ck_assert_int_eq(sched_job_set_phase(&j, JOB_FINISHED), 0);
	/* a late EXIT or reply cannot revive a finished job */
	ck_assert_int_eq(sched_job_set_phase(&j, JOB_RUNNING), -EINVAL);
	ck_assert_int_eq(sched_job_set_phase(&j, JOB_HELD), -EINVAL);
	ck_assert_int_eq(sched_job_set_phase(&j, JOB_FINISHED), -EINVAL);
	ck_assert_int_eq(j.phase, JOB_FINISHED);
	ck_assert_int_eq(sched_job_set_phase(&j, JOB_REAPING), 0);
	/* reaping is the end: even a cancel leaves it alone */
	ck_assert_int_eq(sched_job_set_phase(&j, JOB_FINISHED), -EINVAL);
	ck_assert_int_eq(sched_job_set_phase(&j, JOB_CONNECTING), -EINVAL);
	ck_assert_int_eq(j.phase, JOB_REAPING);
}
END_TEST

START_TEST(phase_names)
{
	ck_assert_str_eq(sched_phase_name(JOB_CONNECTING), "connecting");
	ck_assert_str_eq(sched_phase_name(JOB_REAPING), "reaping");
	ck_assert_str_eq(sched_phase_name((enum job_phase)99), "?");
}
END_TEST

START_TEST(label_names_test_or_template)
{
	struct suite_test t = {.name = "net-up"};
	struct suite s = {.name = "demo", .tests = &t, .n_tests = 1};
	struct sched sc = {.s = &s};
	struct job j = {.sc = &sc};
	char buf[64];
	ck_assert_str_eq(sched_job_label(&j, buf, sizeof(buf)), "test 'net-up'");
	j.setup = true;
	ck_assert_str_eq(sched_job_label(&j, buf, sizeof(buf)), "the template for 'demo'");
	/* truncated, still terminated */
	ck_assert_str_eq(sched_job_label(&j, buf, 8), "the tem");
}
END_TEST

START_TEST(deadline_min_treats_zero_as_none)
{
	ck_assert_uint_eq(agent_deadline_min(0, 0), 0);
	ck_assert_uint_eq(agent_deadline_min(0, 5), 5);
	ck_assert_uint_eq(agent_deadline_min(7, 0), 7);
	ck_assert_uint_eq(agent_deadline_min(7, 5), 5);
	ck_assert_uint_eq(agent_deadline_min(3, 5), 3);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sched_phase");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, table_is_exactly_the_documented_one);
	tcase_add_test(tc, set_phase_refuses_and_keeps_the_phase);
	tcase_add_test(tc, phase_names);
	tcase_add_test(tc, label_names_test_or_template);
	tcase_add_test(tc, deadline_min_treats_zero_as_none);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
