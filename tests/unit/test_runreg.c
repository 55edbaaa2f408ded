/* The run registry (runner/cache/runreg.h): a live run is never reaped; a dead
 * run's directory and processes are; and everything a record names is
 * hostile: directories that are not a smoltest-run.* of ours, reached
 * through a symbolic link, cgroups that are not on cgroup2, and pids that
 * are not the recorded process are left alone; garbage records are
 * dropped. Needs no root (the cgroup cases are refusals). */
#include "cache/runreg.h"
#include "util.h"

#include "check_main.h"
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char tmp[256], cache[300], runs[320];

static void setup_tmp(void)
{
	snprintf(tmp, sizeof(tmp), "/tmp/test_runreg.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(cache, sizeof(cache), "%s/cache", tmp);
	snprintf(runs, sizeof(runs), "%s/runs", cache);
	ck_assert_int_eq(mkdir(cache, 0700), 0);
}

static void teardown_tmp(void)
{
	util_rm_rf(tmp);
}

/* The log of one reap, as text. */
static char *reap_log(unsigned *n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ck_assert_int_eq(runreg_reap(cache, f, n), 0);
	fclose(f);
	return buf;
}

static void make_dir(const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", tmp, name);
	ck_assert_int_eq(mkdir(out, 0700), 0);
}

/* A record as a dead runner of this host left it, with extra lines. */
static void write_record(const char *id, const char *lines)
{
	char p[400], *boot = NULL, ns[64] = "";
	ck_assert_int_eq(util_read_file("/proc/sys/kernel/random/boot_id", 64, &boot, NULL), 0);
	boot[strcspn(boot, "\n")] = '\0';
	ssize_t n = readlink("/proc/self/ns/pid", ns, sizeof(ns) - 1);
	ck_assert(n > 0);
	ns[n] = '\0';
	unsigned long long pidns = 0;
	sscanf(ns, "pid:[%llu]", &pidns);
	mkdir(runs, 0700);
	snprintf(p, sizeof(p), "%s/%s.run", runs, id);
	FILE *f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "smoltest-run 1\nowner 999999 1 %s %llu\n%s", boot, pidns, lines);
	fclose(f);
	free(boot);
}

static bool exists(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0;
}

START_TEST(live_run_kept_dead_run_reaped)
{
	char dir[400], log_dir[400];
	make_dir("smoltest-run.live", dir, sizeof(dir));
	struct runreg *r;
	char err[512];
	ck_assert_int_eq(runreg_create(cache, "00aa", &r, err, sizeof(err)), 0);
	ck_assert_int_eq(runreg_add_path(r, RUNREG_DIR, dir), 0);
	unsigned n = 9;
	char *log = reap_log(&n);
	ck_assert_uint_eq(n, 0); /* locked: its runner is alive */
	ck_assert_str_eq(log, "");
	free(log);
	ck_assert(exists(dir));

	/* a runner that dies with its record: a child that never finishes */
	make_dir("smoltest-run.dead", log_dir, sizeof(log_dir));
	pid_t pid = fork();
	if (pid == 0) {
		struct runreg *c;
		char e[512];
		if (runreg_create(cache, "00bb", &c, e, sizeof(e)) ||
		    runreg_add_path(c, RUNREG_DIR, log_dir))
			_exit(1);
		_exit(0);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	log = reap_log(&n);
	ck_assert_uint_eq(n, 1);
	ck_assert_ptr_nonnull(strstr(log, "run 00bb"));
	ck_assert_ptr_nonnull(strstr(log, "ended without cleaning up; reaped: directory"));
	free(log);
	ck_assert(!exists(log_dir));
	ck_assert(exists(dir));

	/* a clean end removes what is left and the record */
	runreg_finish(r, stderr);
	ck_assert(!exists(dir));
	char p[400];
	snprintf(p, sizeof(p), "%s/00aa.run", runs);
	ck_assert(!exists(p));
}
END_TEST

START_TEST(hostile_paths_left_alone)
{
	char victim[400], real[400], link[400], lines[2048];
	make_dir("victim", victim, sizeof(victim));
	make_dir("elsewhere", real, sizeof(real));
	char inner[500];
	snprintf(inner, sizeof(inner), "%s/smoltest-run.x", real);
	ck_assert_int_eq(mkdir(inner, 0700), 0);
	snprintf(link, sizeof(link), "%s/link", tmp);
	ck_assert_int_eq(symlink(real, link), 0);
	snprintf(lines, sizeof(lines),
		 "dir %s\ndir /\ndir %s/smoltest-run.x\ndir relative/smoltest-run.y\n"
		 "cgroup %s/smoltest-999999\ncgroup /sys/fs/cgroup\n",
		 victim, link, tmp);
	write_record("00cc", lines);
	unsigned n;
	char *log = reap_log(&n);
	ck_assert_uint_eq(n, 1);
	ck_assert_ptr_nonnull(strstr(log, "left alone"));
	free(log);
	ck_assert(exists(victim));
	ck_assert(exists(inner));
	char p[400];
	snprintf(p, sizeof(p), "%s/00cc.run", runs);
	ck_assert(!exists(p)); /* refusals are said once, not every run */
}
END_TEST

START_TEST(only_the_recorded_process_killed)
{
	pid_t child = fork();
	if (child == 0) {
		pause();
		_exit(0);
	}
	char lines[256];
	/* right pid, wrong start time: a reused pid, not ours */
	snprintf(lines, sizeof(lines), "proc %d 1\nproc 1 1\nproc %d 1\n", (int)child,
		 (int)getpid());
	write_record("00dd", lines);
	unsigned n;
	char *log = reap_log(&n);
	ck_assert_ptr_nonnull(strstr(log, "0 processes killed"));
	free(log);
	ck_assert_int_eq(kill(child, 0), 0);

	/* the recorded start time: killed */
	char p[64], *stat = NULL;
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)child);
	ck_assert_int_eq(util_read_file(p, 4096, &stat, NULL), 0);
	const char *s = strrchr(stat, ')');
	for (int i = 0; i < 20; i++)
		s = strchr(s + 1, ' ');
	unsigned long long start = strtoull(s + 1, NULL, 10);
	free(stat);
	snprintf(lines, sizeof(lines), "proc %d %llu\n", (int)child, start);
	write_record("00ee", lines);
	log = reap_log(&n);
	ck_assert_ptr_nonnull(strstr(log, "1 process killed"));
	free(log);
	int st;
	ck_assert_int_eq(waitpid(child, &st, 0), child);
	ck_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}
END_TEST

START_TEST(garbage_dropped_registry_checked)
{
	mkdir(runs, 0700);
	char p[400];
	snprintf(p, sizeof(p), "%s/0ff.run", runs);
	ck_assert_int_eq(util_write_file_atomic(p, "hello\n", 6, 0600), 0);
	snprintf(p, sizeof(p), "%s/.0fe.tmp", runs);
	ck_assert_int_eq(util_write_file_atomic(p, "smoltest-run 1\n", 15, 0600), 0);
	unsigned n;
	char *log = reap_log(&n);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_nonnull(strstr(log, "not a run record"));
	free(log);
	ck_assert(!exists(p));
	snprintf(p, sizeof(p), "%s/0ff.run", runs);
	ck_assert(!exists(p));

	/* a registry others may write is not trusted */
	ck_assert_int_eq(chmod(runs, 0777), 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ck_assert_int_eq(runreg_reap(cache, f, &n), -EPERM);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "not writable by others"));
	free(buf);
	struct runreg *r;
	char err[512];
	ck_assert_int_eq(runreg_create(cache, "0a", &r, err, sizeof(err)), -EPERM);
	ck_assert_ptr_nonnull(strstr(err, "will not be cleaned up"));
	ck_assert_int_eq(runreg_create(cache, "../x", &r, err, sizeof(err)), -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("runreg");
	TCase *tc = tcase_create("runreg");
	tcase_add_checked_fixture(tc, setup_tmp, teardown_tmp);
	tcase_add_test(tc, live_run_kept_dead_run_reaped);
	tcase_add_test(tc, hostile_paths_left_alone);
	tcase_add_test(tc, only_the_recorded_process_killed);
	tcase_add_test(tc, garbage_dropped_registry_checked);
	suite_add_tcase(s, tc);
	return smol_check_run(s);
}
