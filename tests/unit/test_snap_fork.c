/* snap_fork: per-fork paths and the `smolvm restore` command line each fork
 * runs (with a stand-in script for smolvm), its own process group, and the
 * cleanup of a previous fork's directory. */
#include "snapshot/snap_fork.h"
#include "util.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmpdir[256];

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/snapfork.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void)
{
	util_rm_rf(tmpdir);
}

START_TEST(paths)
{
	struct snap_fork_paths p;
	ck_assert_int_eq(snap_fork_paths("/x/forks", 7, &p), 0);
	ck_assert_str_eq(p.dir, "/x/forks/7");
	ck_assert_str_eq(p.serial, "/x/forks/7/serial.log");
	ck_assert_str_eq(p.control, "/x/forks/7/control.sock");
	ck_assert_str_eq(p.disk_layer, "/x/forks/7/disk.layer");
	ck_assert_str_eq(p.vsock, "/x/forks/7/vsock.sock");
	char *longdir = malloc(SNAP_FORK_PATH_MAX);
	memset(longdir, 'a', SNAP_FORK_PATH_MAX - 1);
	longdir[SNAP_FORK_PATH_MAX - 1] = '\0';
	ck_assert_int_eq(snap_fork_paths(longdir, 1, &p), -ENAMETOOLONG);
	free(longdir);
}
END_TEST

/* A stand-in for smolvm: writes its arguments, one per line, next to the
 * fork's serial log (argument 4), and its process group id. */
static void write_standin(const char *path)
{
	static const char script[] = "#!/bin/sh\n"
				     "printf '%s\\n' \"$@\" > \"$4.args\"\n"
				     "ps -o pgid= -p $$ | tr -d ' ' > \"$4.pgid\"\n"
				     "exit 3\n";
	ck_assert_int_eq(util_write_file_atomic(path, script, sizeof(script) - 1, 0755), 0);
}

START_TEST(start)
{
	char smolvm[512], dir[512], stale[600], args[600];
	snprintf(smolvm, sizeof(smolvm), "%s/smolvm-standin", tmpdir);
	snprintf(dir, sizeof(dir), "%s/forks", tmpdir);
	write_standin(smolvm);
	/* A previous fork 1 left a file behind: it must be gone. */
	snprintf(stale, sizeof(stale), "%s/1/old-layer", dir);
	ck_assert_int_eq(util_mkdir_p(stale, 0755), 0);

	const char *extra[] = {"--share", "tag=/host", NULL};
	struct snap_fork_opts o = {.smolvm = smolvm,
				   .snapshot = "/s.smolsnap",
				   .dir = dir,
				   .control = true,
				   .vsock_cid = "3",
				   .extra_args = extra};
	struct vmm_err err;
	pid_t pid;
	ck_assert_msg(snap_fork_start(&o, 1, &pid, &err) == 0, "%s", err.msg);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 3); /* the child's status comes back */
	ck_assert_int_ne(access(stale, F_OK), 0);

	char *text;
	snprintf(args, sizeof(args), "%s/1/serial.log.args", dir);
	ck_assert_int_eq(util_read_file(args, 1 << 16, &text, NULL), 0);
	char want[4096];
	snprintf(want, sizeof(want),
		 "restore\n/s.smolsnap\n--serial\n%s/1/serial.log\n--control\n%s/1/control.sock\n"
		 "--vsock\n3,%s/1/vsock.sock\n--fork-dir\n%s/1\n--share\ntag=/host\n",
		 dir, dir, dir, dir);
	ck_assert_str_eq(text, want);
	free(text);
	snprintf(args, sizeof(args), "%s/1/serial.log.pgid", dir);
	if (util_read_file(args, 64, &text, NULL) == 0) { /* ps may be missing */
		if (text[0])
			ck_assert_int_eq(atoi(text), pid); /* its own process group */
		free(text);
	}
}
END_TEST

START_TEST(missing_binary)
{
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/forks", tmpdir);
	struct snap_fork_opts o = {.smolvm = "/nonexistent/smolvm", .snapshot = "/s", .dir = dir};
	struct vmm_err err;
	pid_t pid;
	ck_assert_int_eq(snap_fork_start(&o, 0, &pid, &err), 0);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 127);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("snap_fork");
	TCase *tc = tcase_create("fork");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, paths);
	tcase_add_test(tc, start);
	tcase_add_test(tc, missing_binary);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return smol_check_run(suite());
}
