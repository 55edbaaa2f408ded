/* The sandbox monitor's argv (runner/backend/sandbox.h): what the runner
 * builds from a spec (sandbox_monitor_argv) and what the monitor
 * (sandbox_monitor_cli, in the agent binary) refuses, each refusal one
 * "E" line on SANDBOX_FD_STATUS naming the argument, exit status 2. A
 * complete argv is never parsed here: the monitor would start building
 * namespaces. The runner's argv minus its --parent is refused for that
 * alone, which shows every other option it wrote parses. */
#include "backend/sandbox.h"

#include "check_main.h"
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct sandbox_share shares[] = {
    {.host = "/srv/with space:colon", .guest = "/data", .readonly = true},
    {.host = "/srv/rw", .guest = "/out", .readonly = false},
};

static const struct sandbox_spec spec = {
    .rootfs = "/",
    .inst_dir = "/r/i1",
    .upper = "/l/upper",
    .work = "/l/work",
    .artifact_dir = "/r/art",
    .shares = shares,
    .n_shares = 2,
    .hostname = "t0",
    .opaque_tmp = true,
};

static size_t count(char **argv)
{
	size_t n = 0;
	while (argv[n])
		n++;
	return n;
}

static long find(char **argv, const char *arg)
{
	for (size_t i = 0; argv[i]; i++)
		if (!strcmp(argv[i], arg))
			return (long)i;
	return -1;
}

START_TEST(argv_carries_the_spec)
{
	char **argv = NULL;
	ck_assert_int_eq(sandbox_monitor_argv(&spec, "4242", &argv), 0);
	ck_assert_str_eq(argv[1], SANDBOX_MONITOR_ARG);
	long i = find(argv, "--parent");
	ck_assert_int_ge(i, 0);
	ck_assert_str_eq(argv[i + 1], "4242");
	static const char *const pairs[][2] = {
	    {"--rootfs", "/"},	   {"--inst-dir", "/r/i1"},	 {"--upper", "/l/upper"},
	    {"--work", "/l/work"}, {"--artifact-dir", "/r/art"}, {"--hostname", "t0"},
	};
	for (size_t k = 0; k < sizeof(pairs) / sizeof(pairs[0]); k++) {
		i = find(argv, pairs[k][0]);
		ck_assert_msg(i >= 0, "%s missing", pairs[k][0]);
		ck_assert_str_eq(argv[i + 1], pairs[k][1]);
	}
	/* what the spec does not have is not passed */
	ck_assert_int_lt(find(argv, "--layer"), 0);
	ck_assert_int_lt(find(argv, "--cgroup-procs"), 0);
	ck_assert_int_lt(find(argv, "--memory-events"), 0);
	i = find(argv, "--share");
	ck_assert_int_ge(i, 0);
	ck_assert_str_eq(argv[i + 1], "ro");
	ck_assert_str_eq(argv[i + 2], "/srv/with space:colon");
	ck_assert_str_eq(argv[i + 3], "/data");
	ck_assert_str_eq(argv[i + 4], "--share");
	ck_assert_str_eq(argv[i + 5], "rw");
	ck_assert_int_ge(find(argv, "--opaque-tmp"), 0);
	/* 2 + parent 2 + 6 options x 2 + 2 shares x 4 + 1 flag */
	ck_assert_uint_eq(count(argv), 2 + 2 + 12 + 8 + 1);
	free(argv);
}
END_TEST

/* Runs the monitor's parser on argv (with fd SANDBOX_FD_STATUS a pipe) and
 * returns its exit status; the status pipe's text goes to out. */
static int parse(char **argv, char *out, size_t len)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	/* the read end away from the fd the write end goes to */
	int r = fcntl(p[0], F_DUPFD_CLOEXEC, 10);
	ck_assert_int_ge(r, 10);
	close(p[0]);
	p[0] = r;
	ck_assert_int_ge(dup2(p[1], SANDBOX_FD_STATUS), 0);
	if (p[1] != SANDBOX_FD_STATUS)
		close(p[1]);
	int rc = sandbox_monitor_cli((int)count(argv), argv, NULL);
	close(SANDBOX_FD_STATUS);
	ssize_t n = read(p[0], out, len - 1);
	out[n > 0 ? n : 0] = '\0';
	close(p[0]);
	return rc;
}

/* The runner's argv with `drop` (and its value when it has one) left
 * out, and then `extra` appended (NULL-terminated). */
static char **edited(const char *drop, bool has_value, const char *const *extra)
{
	char **argv = NULL;
	ck_assert_int_eq(sandbox_monitor_argv(&spec, "4242", &argv), 0);
	size_t n = count(argv), m = 0;
	char **out = calloc(n + 8, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		if (drop && !strcmp(argv[i], drop)) {
			i += has_value;
			continue;
		}
		out[m++] = argv[i];
	}
	for (size_t k = 0; extra && extra[k]; k++)
		out[m++] = (char *)extra[k];
	free(argv);
	return out;
}

static void refused(char **argv, const char *line)
{
	char out[1024];
	ck_assert_int_eq(parse(argv, out, sizeof(out)), 2);
	ck_assert_str_eq(out, line);
	free(argv);
}

START_TEST(every_option_parses_and_bad_ones_are_refused)
{
	refused(edited("--parent", true, NULL), "Emonitor: missing: '--parent'\n");
	refused(edited("--rootfs", true, NULL), "Emonitor: missing: '--rootfs'\n");
	refused(edited("--inst-dir", true, NULL), "Emonitor: missing: '--inst-dir'\n");
	/* a template's upper dir comes with its workdir */
	refused(edited("--work", true, NULL),
		"Emonitor: --upper and --work go together, missing: '--work'\n");
	refused(edited("--upper", true, NULL),
		"Emonitor: --upper and --work go together, missing: '--upper'\n");
	refused(edited(NULL, false, (const char *const[]){"--bogus", NULL}),
		"Emonitor: unknown argument: '--bogus'\n");
	refused(edited(NULL, false, (const char *const[]){"--inst-dir", NULL}),
		"Emonitor: no value for: '--inst-dir'\n");
	refused(edited(NULL, false, (const char *const[]){"--inst-dir", "", NULL}),
		"Emonitor: no value for: '--inst-dir'\n");
	refused(edited(NULL, false, (const char *const[]){"--share", "rx", "/a", "/b", NULL}),
		"Emonitor: a share needs ro|rw HOST GUEST after: '--share'\n");
	refused(edited(NULL, false, (const char *const[]){"--share", "ro", "/a", NULL}),
		"Emonitor: a share needs ro|rw HOST GUEST after: '--share'\n");
	refused(edited("--parent", true, (const char *const[]){"--parent", "1", NULL}),
		"Emonitor: not a parent pid: '1'\n");
	refused(edited("--parent", true, (const char *const[]){"--parent", "12x", NULL}),
		"Emonitor: not a parent pid: '12x'\n");
	/* a hostile value is quoted, cut at 200 bytes, on one line */
	char big[600];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	char want[300];
	snprintf(want, sizeof(want), "Emonitor: unknown argument: '%.200s'\n", big);
	refused(edited(NULL, false, (const char *const[]){big, NULL}), want);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sandbox_monitor");
	TCase *tc = tcase_create("sandbox_monitor");
	tcase_add_test(tc, argv_carries_the_spec);
	tcase_add_test(tc, every_option_parses_and_bad_ones_are_refused);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
