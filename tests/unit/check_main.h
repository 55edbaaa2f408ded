/* check_main: the one way a unit test executable runs its Check suite. */
#ifndef SMOL_CHECK_MAIN_H
#define SMOL_CHECK_MAIN_H

#include <check.h>
#include <stdlib.h>

/* Runs every test of s (taken over: Check frees it with the runner) and
 * returns the process exit status: EXIT_SUCCESS when nothing failed. */
static inline int smol_check_run(Suite *s)
{
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
