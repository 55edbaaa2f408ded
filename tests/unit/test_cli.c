/* Top-level CLI: version, help, dispatch, unknown commands. */
#include "cmd/cli.h"
#include "cmd/commands.h"

#include "check_main.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Runs cli_main with stdout captured into buf. */
static int run_capture(int argc, char **argv, char *buf, size_t len)
{
	fflush(stdout);
	int saved = dup(STDOUT_FILENO);
	FILE *tmp = tmpfile();
	ck_assert_ptr_nonnull(tmp);
	dup2(fileno(tmp), STDOUT_FILENO);
	int rc = cli_main(argc, argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	rewind(tmp);
	size_t n = fread(buf, 1, len - 1, tmp);
	buf[n] = '\0';
	fclose(tmp);
	return rc;
}

START_TEST(version)
{
	char out[256];
	char *argv[] = {"smoltest", "--version", NULL};
	ck_assert_int_eq(run_capture(2, argv, out, sizeof(out)), EXIT_OK);
	ck_assert_str_eq(out, "smoltest " SMOLTEST_VERSION "\n");
}
END_TEST

START_TEST(help_lists_every_command)
{
	static char out[8192];
	char *argv[] = {"smoltest", "--help", NULL};
	ck_assert_int_eq(run_capture(2, argv, out, sizeof(out)), EXIT_OK);
	const char *expect[] = {"run", "list", "validate", "exec", "image", "cache", "report"};
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		char needle[32];
		snprintf(needle, sizeof(needle), "\n  %s ", expect[i]);
		ck_assert_msg(strstr(out, needle), "help lacks %s", expect[i]);
		ck_assert_ptr_nonnull(cli_find(expect[i]));
	}
}
END_TEST

START_TEST(usage_errors)
{
	char out[256];
	char *none[] = {"smoltest", NULL};
	ck_assert_int_eq(run_capture(1, none, out, sizeof(out)), EXIT_USAGE);
	char *bogus[] = {"smoltest", "frobnicate", NULL};
	ck_assert_int_eq(run_capture(2, bogus, out, sizeof(out)), EXIT_USAGE);
	ck_assert_ptr_null(cli_find("frobnicate"));
	ck_assert_ptr_null(cli_find(""));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, version);
	tcase_add_test(tc, help_lists_every_command);
	tcase_add_test(tc, usage_errors);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
